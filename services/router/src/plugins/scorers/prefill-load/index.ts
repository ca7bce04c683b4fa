/**
 * `prefill-load` scorer: 1 / (1 + inflight / scaleTokens), where inflight is the prompt tokens the
 * router has sent the worker to prefill and not yet seen finish. 1 when idle, ½ at `scaleTokens`.
 * Absolute (not normalised across candidates), so a small load difference does not outweigh a
 * prefix hit.
 */
import { z } from 'zod';
import { definePlugin, params } from '../../factory.ts';
import { scoreEach } from '../../util.ts';

export const prefillLoadScorer = definePlugin({
  kind: 'scorer',
  type: 'prefill-load',
  summary: 'fewer in-flight prefill tokens score higher: 1 / (1 + tokens / scaleTokens)',
  parameters: params({ scaleTokens: z.number().positive().default(2048) }),
  create: (p) => ({
    type: 'prefill-load',
    requires: [],
    score(_ctx, candidates) {
      return scoreEach(candidates, (c) => 1 / (1 + c.load.prefillTokens / p.scaleTokens));
    },
  }),
});
