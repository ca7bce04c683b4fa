/** `kv-capacity` scorer: the free share of the worker's KV cache after placing the request. */
import { definePlugin, params } from '../../factory.ts';
import { clamp01, neededBlocks, scoreEach } from '../../util.ts';

export const kvCapacityScorer = definePlugin({
  kind: 'scorer',
  type: 'kv-capacity',
  summary: 'free share of the KV cache after placing the request',
  parameters: params({}),
  create: () => ({
    type: 'kv-capacity',
    requires: ['prefix-match'],
    score(ctx, candidates) {
      return scoreEach(candidates, (c) => {
        if (c.kvBlocksTotal <= 0) return 0.5;
        const need = Math.max(0, neededBlocks(ctx, c) - (c.prefixBlocks ?? 0));
        return clamp01((c.kvBlocksTotal - c.load.decodeBlocks - need) / c.kvBlocksTotal);
      });
    },
  }),
});
