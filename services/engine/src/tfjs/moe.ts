/**
 * Sparse mixture-of-experts MLP: each expert runs only on the tokens routed to it.
 *
 * Legend: T tokens · E hidden · X experts · k experts per token · n_e tokens routed to expert e
 *
 * 1. router logits [T, X] = x · R (on the backend), read back to the host;
 * 2. per token, softmax over all X, take the top k (ties → lower expert id), renormalise the k
 *    weights when `normTopkProb` (Mixtral does; softmax-then-top-k-then-renorm equals a softmax
 *    over the top-k logits);
 * 3. per expert with n_e > 0: gather its rows [n_e, E], SwiGLU, scale by the gate weights;
 * 4. scatter-add every expert's rows back to [T, E] in one op (duplicate rows sum).
 *
 * The routing decision happens on the host, so the per-expert token counts are free to report.
 */
import * as tf from '@tensorflow/tfjs-core';
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
 * x [T, E] → [T, E]. Adds the number of tokens routed to each expert into `expertCounts` [X].
 */
export function moeMlp(
  x: tf.Tensor2D,
  router: tf.Tensor2D,
  experts: DeviceMlp[],
  topK: number,
  normTopkProb: boolean,
  expertCounts: number[],
): tf.Tensor2D {
  const [T, E] = x.shape;
  const logits = tf.tidy(() => tf.matMul(x, router));
  const routing = routeTokens(logits.dataSync() as Float32Array, T, experts.length, topK, normTopkProb);
  logits.dispose();
  return tf.tidy(() => {
    const rows: number[] = [];
    const outs: tf.Tensor2D[] = [];
    routing.tokens.forEach((idx, e) => {
      expertCounts[e] += idx.length;
      if (idx.length === 0) return;
      const xe = tf.gather(x, tf.tensor1d(idx, 'int32'));
      const ye = swiGlu(xe, experts[e]);
      outs.push(tf.mul(ye, tf.tensor2d(routing.weights[e], [idx.length, 1])));
      rows.push(...idx);
    });
    const all = outs.length === 1 ? outs[0] : tf.concat(outs, 0);
    return tf.scatterND(tf.tensor2d(rows, [rows.length, 1], 'int32'), all, [T, E]);
  });
}
