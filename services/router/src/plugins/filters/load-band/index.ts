/**
 * `load-band` filter: keeps the workers whose load is within `slack` of the least-loaded
 * candidate's, so that affinity scorers (prefix, experts) choose only among workers that are
 * nearly as free as the freest one. Load is the router's own reservations: running sequences
 * (decode) or in-flight prefill tokens (prefill). The least-loaded candidate always passes, so the
 * filter never empties a non-empty list.
 */
import { z } from 'zod';
import { definePlugin, params } from '../../factory.ts';
import type { Candidate } from '../../types.ts';

const METRICS = {
  'running-seqs': (c: Candidate): number => c.load.runningSeqs,
  'prefill-tokens': (c: Candidate): number => c.load.prefillTokens,
} as const;

export const loadBandFilter = definePlugin({
  kind: 'filter',
  type: 'load-band',
  summary: 'workers whose load is within a slack of the least-loaded candidate',
  parameters: params({
    metric: z.enum(['running-seqs', 'prefill-tokens']).default('running-seqs'),
    /** How far above the least-loaded candidate's load a worker may be, in the metric's unit. */
    slack: z.number().min(0).default(1),
  }),
  create: (p) => ({
    type: 'load-band',
    filter(_ctx, candidates) {
      const load = METRICS[p.metric];
      let min = Number.POSITIVE_INFINITY;
      for (const c of candidates) min = Math.min(min, load(c));
      return candidates.filter((c) => load(c) <= min + p.slack);
    },
  }),
});
