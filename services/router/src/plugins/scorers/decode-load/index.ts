/**
 * `decode-load` scorer: 1 − (blocksWeight · blocks/total + (1 − blocksWeight) · seqs/maxSeqs),
 * from the router's reservations (KV blocks and running sequences it placed on the worker). When
 * the worker does not report a capacity, the missing term falls back to 1 / (1 + x / scale).
 */
import { z } from 'zod';
import { definePlugin, params } from '../../factory.ts';
import { clamp01, scoreEach } from '../../util.ts';

export const decodeLoadScorer = definePlugin({
  kind: 'scorer',
  type: 'decode-load',
  summary: 'fewer reserved KV blocks and running sequences score higher',
  parameters: params({
    blocksWeight: z.number().min(0).max(1).default(0.5),
    /** Used when the worker reports no max_running_seqs: seqs at which that term halves. */
    scaleSeqs: z.number().positive().default(16),
  }),
  create: (p) => ({
    type: 'decode-load',
    requires: [],
    score(_ctx, candidates) {
      return scoreEach(candidates, (c) => {
        const blocks = c.kvBlocksTotal > 0 ? clamp01(c.load.decodeBlocks / c.kvBlocksTotal) : 1 - 1 / (1 + c.load.decodeBlocks / 256);
        const seqs = c.maxRunningSeqs > 0 ? clamp01(c.load.runningSeqs / c.maxRunningSeqs) : 1 - 1 / (1 + c.load.runningSeqs / p.scaleSeqs);
        return clamp01(1 - (p.blocksWeight * blocks + (1 - p.blocksWeight) * seqs));
      });
    },
  }),
});
