/**
 * `kv-capacity` filter: the worker has room for the request's KV. Needed blocks are
 * ceil((prompt + max_tokens) / block) on a decode worker (ceil(prompt / block) on a prefill worker),
 * minus the prompt blocks it already holds (the decision's prefix match); in use is the router's own reservation count. A worker
 * that does not report its KV size passes (nothing to check against).
 */
import { z } from 'zod';
import { definePlugin, params } from '../../factory.ts';
import { neededBlocks } from '../../util.ts';
import { prefixMatch } from '../../producers/prefix-match/index.ts';

export const kvCapacityFilter = definePlugin({
  kind: 'filter',
  type: 'kv-capacity',
  summary: 'workers with room for the request in their KV cache (router-side reservations)',
  parameters: params({
    /** Fraction of the KV cache the router may fill with reservations. */
    maxUtilization: z.number().gt(0).max(1).default(1),
  }),
  create: (p) => ({
    type: 'kv-capacity',
    filter(ctx, candidates) {
      const held = prefixMatch(ctx);
      return candidates.filter((c) => {
        if (c.kvBlocksTotal <= 0) return true;
        const need = Math.max(0, neededBlocks(ctx, c) - (held.get(c.id) ?? 0));
        return c.load.decodeBlocks + need <= c.kvBlocksTotal * p.maxUtilization;
      });
    },
  }),
});
