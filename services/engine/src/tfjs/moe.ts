/**
 * Sparse mixture-of-experts MLP: each expert runs only on the tokens routed to it.
 *
 * Legend: T tokens · E hidden · X experts · k experts per token · n_e tokens routed to expert e
 *
 * 1. router logits [T, X] = x · Rᵀ on the host (float64 sums);
 * 2. per token, softmax over all X, take the top k (ties → lower expert id), renormalise the k
 *    weights when `normTopkProb` (Mixtral does; softmax-then-top-k-then-renorm equals a softmax
 *    over the top-k logits);
 * 3. per expert with n_e > 0: gather its rows [n_e, E], SwiGLU on the backend;
 * 4. add every expert's rows back into [T, E] on the host, scaled by their gate weights.
 *
 * Under tensor parallelism every shard routes (identically, from the same input) and runs its slice
 * of each routed expert's intermediate columns; the shards' partial outputs sum like a dense MLP's.
 *
 * The routing decision happens on the host, so the per-expert token counts are free to report.
 */
import type { DeviceMlp } from './device-weights.ts';
import { swiGlu } from './layers.ts';

export interface MoeRouting {
  /** For each expert, the token rows routed to it (ascending). */
  tokens: number[][];
  /** For each expert, the gate weight of each routed token (parallel to `tokens`). */
  weights: number[][];
}

/** Host-side top-k routing from router logits [T·X] (row-major). */
export function routeTokens(logits: Float32Array, numTokens: number, numExperts: number, topK: number, normTopkProb: boolean): MoeRouting {
  const tokens: number[][] = Array.from({ length: numExperts }, () => []);
  const weights: number[][] = Array.from({ length: numExperts }, () => []);
  const order = new Array<number>(numExperts);
  const probs = new Float64Array(numExperts);
  for (let t = 0; t < numTokens; t++) {
    const row = t * numExperts;
    let max = -Infinity;
    for (let e = 0; e < numExperts; e++) max = Math.max(max, logits[row + e]);
    let sum = 0;
    for (let e = 0; e < numExperts; e++) {
      probs[e] = Math.exp(logits[row + e] - max);
      sum += probs[e];
    }
    for (let e = 0; e < numExperts; e++) order[e] = e;
    order.sort((a, b) => probs[b] - probs[a] || a - b);
    let kept = 0;
    for (let j = 0; j < topK; j++) kept += probs[order[j]];
    const denom = normTopkProb ? kept : sum;
    for (let j = 0; j < topK; j++) {
      const e = order[j];
      tokens[e].push(t);
      weights[e].push(probs[e] / denom);
    }
  }
  return { tokens, weights };
}

/**
 * Router logits on the host, float64 sums: h [T, E] · Rᵀ with the HF router R [X, E] → [T·X] (row-major).
 * Every shard computes them itself from the same h, so all shards route identically.
 */
export function routerLogits(h: Float32Array, T: number, router: Float32Array, numExperts: number): Float32Array {
  const E = router.length / numExperts;
  const out = new Float32Array(T * numExperts);
  for (let t = 0; t < T; t++) {
    for (let e = 0; e < numExperts; e++) {
      let s = 0;
      for (let i = 0; i < E; i++) s += h[t * E + i] * router[e * E + i];
      out[t * numExperts + e] = s;
    }
  }
  return out;
}

/**
 * h [T, E] → [T, E]: each expert with routed tokens runs SwiGLU (this shard's slice of it) on just
 * those rows; rows come back scaled by their gate weight and summed per token on the host.
 */
export function moeMlp(h: Float32Array, T: number, E: number, experts: DeviceMlp[], routing: MoeRouting): Float32Array {
  const out = new Float32Array(T * E);
  routing.tokens.forEach((idx, e) => {
    if (idx.length === 0) return;
    const xe = new Float32Array(idx.length * E);
    idx.forEach((t, j) => xe.set(h.subarray(t * E, (t + 1) * E), j * E));
    const ye = swiGlu(xe, idx.length, experts[e]);
    const w = routing.weights[e];
    idx.forEach((t, j) => {
      for (let i = 0; i < E; i++) out[t * E + i] += w[j] * ye[j * E + i];
    });
  });
  return out;
}
