/** `prefix-affinity` scorer: cached blocks / prompt blocks — the share of the prompt the worker holds. */
import { definePlugin, params } from '../../factory.ts';

export const prefixAffinityScorer = definePlugin({
  kind: 'scorer',
  type: 'prefix-affinity',
  summary: 'share of the prompt\'s blocks the worker already holds (cached / prompt blocks)',
  parameters: params({}),
  create: () => ({
    type: 'prefix-affinity',
    requires: ['prefix-match'],
    score(ctx, candidates) {
      const out = new Float64Array(candidates.length);
      if (ctx.promptBlocks > 0) candidates.forEach((c, i) => (out[i] = Math.min(1, (c.prefixBlocks ?? 0) / ctx.promptBlocks)));
      return out;
    },
  }),
});
