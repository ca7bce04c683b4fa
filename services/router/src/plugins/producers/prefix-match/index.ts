/**
 * `prefix-match` producer: for every candidate, the number of leading prompt blocks it holds
 * (PrefixIndex.match over the request's chained block hashes — one lookup per block until no
 * candidate holds the next one). Computed once per decision and shared by both stages.
 */
import { definePlugin, params } from '../../factory.ts';
import type { DecisionContext } from '../../types.ts';

const MEMO = 'prefix-match';

/** The decision's prefix match (memoised): workerId → leading blocks held. */
export function prefixMatch(ctx: DecisionContext): ReadonlyMap<string, number> {
  let m = ctx.memo.get(MEMO) as ReadonlyMap<string, number> | undefined;
  if (!m) ctx.memo.set(MEMO, (m = ctx.request.blockHashes.length ? ctx.state.matchPrefix(ctx.request.blockHashes) : new Map()));
  return m;
}

export const prefixMatchProducer = definePlugin({
  kind: 'producer',
  type: 'prefix-match',
  summary: 'leading prompt blocks each candidate holds, from the event-fed prefix index',
  parameters: params({}),
  create: () => ({
    type: 'prefix-match',
    produce(ctx, candidates) {
      const m = prefixMatch(ctx);
      for (const c of candidates) c.prefixBlocks = m.get(c.id) ?? 0;
    },
  }),
});
