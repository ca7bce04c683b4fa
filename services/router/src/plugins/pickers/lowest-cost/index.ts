/**
 * `lowest-cost` picker (the Dynamo KV-router family): cost = prefillWeight · uncached prompt blocks
 * + in-flight load in blocks (prefill tokens / block size, plus reserved decode blocks on the
 * decode stage). temperature 0 → the minimum (random tie-break); > 0 → softmax sampling over
 * −cost / (temperature · max cost), which spreads load among near-equal workers. Ignores scorers.
 */
import { z } from 'zod';
import { definePlugin, params } from '../../factory.ts';
import type { DecisionContext, ScoredCandidate } from '../../types.ts';
import { uncachedBlocks } from '../../util.ts';

function cost(ctx: DecisionContext, s: ScoredCandidate, prefillWeight: number): number {
  const c = s.candidate;
  const inflight = c.load.prefillTokens / c.blockSize + (ctx.stage === 'decode' ? c.load.decodeBlocks : 0);
  return prefillWeight * uncachedBlocks(ctx, c) + inflight;
}

function softmaxPick(ctx: DecisionContext, scored: readonly ScoredCandidate[], costs: number[], temperature: number): ScoredCandidate {
  const scale = Math.max(1, ...costs) * temperature;
  const w = costs.map((x) => Math.exp(-(x - Math.min(...costs)) / scale));
  let r = ctx.state.random() * w.reduce((a, b) => a + b, 0);
  for (let i = 0; i < w.length; i++) if ((r -= w[i]) <= 0) return scored[i];
  return scored[scored.length - 1];
}

export const lowestCostPicker = definePlugin({
  kind: 'picker',
  type: 'lowest-cost',
  summary: 'minimum of prefillWeight · uncached blocks + in-flight blocks (Dynamo-style)',
  parameters: params({ prefillWeight: z.number().min(0).default(1), temperature: z.number().min(0).default(0) }),
  create: (p) => ({
    type: 'lowest-cost',
    requires: ['prefix-match'],
    pick(ctx, scored) {
      if (scored.length === 0) return null;
      const costs = scored.map((s) => cost(ctx, s, p.prefillWeight));
      if (p.temperature > 0) return softmaxPick(ctx, scored, costs, p.temperature);
      const min = Math.min(...costs);
      const tied = scored.filter((_, i) => costs[i] <= min + 1e-9);
      return tied[Math.min(tied.length - 1, Math.floor(ctx.state.random() * tied.length))];
    },
  }),
});
