/** Small helpers shared by plugins: clamping, request sizes in blocks, the expert-vector maths. */
import type { Candidate, DecisionContext, ExpertVector } from './types.ts';

export const clamp01 = (x: number): number => (x <= 0 || Number.isNaN(x) ? 0 : x >= 1 ? 1 : x);

/**
 * One score per candidate. A plain loop: `Float64Array.from(list, fn)` goes through the iterator
 * protocol, several times slower on the decision hot path (docs/benchmarks.md, bench:router).
 */
export function scoreEach(candidates: readonly Candidate[], f: (c: Candidate) => number): Float64Array {
  const out = new Float64Array(candidates.length);
  for (let i = 0; i < candidates.length; i++) out[i] = f(candidates[i]);
  return out;
}

/** KV blocks the request needs on this candidate in this stage, before prefix reuse. */
export function neededBlocks(ctx: DecisionContext, c: Candidate): number {
  const tokens = ctx.request.promptTokens + (ctx.stage === 'decode' ? ctx.request.maxTokens : 0);
  return Math.ceil(tokens / c.blockSize);
}

/** Prompt blocks this candidate must compute (or receive): the part of the prompt it does not hold. */
export function uncachedBlocks(ctx: DecisionContext, c: Candidate): number {
  return Math.max(0, ctx.promptBlocks - (c.prefixBlocks ?? 0));
}

/**
 * Histogram intersection of two per-layer distributions, averaged over layers: Σ_e min(p, q) per
 * layer. 1 when the mixes are equal, 0 when they share no expert. O(layers × experts).
 */
export function expertOverlap(p: ExpertVector, q: ExpertVector): number {
  if (p.layers !== q.layers || p.experts !== q.experts || p.layers === 0) return 0;
  let sum = 0;
  for (let i = 0; i < p.values.length; i++) sum += Math.min(p.values[i], q.values[i]);
  return clamp01(sum / p.layers);
}

/** Normalises each layer of a non-negative [layers × experts] matrix to sum 1 (zero rows stay 0). */
export function normalizeLayers(layers: number, experts: number, raw: ArrayLike<number>): ExpertVector {
  const values = new Float64Array(layers * experts);
  for (let l = 0; l < layers; l++) {
    let s = 0;
    for (let e = 0; e < experts; e++) s += raw[l * experts + e];
    if (s > 0) for (let e = 0; e < experts; e++) values[l * experts + e] = raw[l * experts + e] / s;
  }
  return { layers, experts, values };
}
