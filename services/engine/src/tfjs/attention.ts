/**
 * Causal grouped-query attention of one sequence's new tokens over its whole context.
 *
 * Legend: n new tokens · L context length (cached + new) · H heads · K kv heads · G = H/K · D head dim
 *
 * The new tokens sit at positions start … start+n-1, so L = start + n and query i may attend to
 * keys 0 … start+i. Query head h reads kv head ⌊h/G⌋ (HF `repeat_kv`), which lets us fold the G
 * query heads of one kv head into the row axis and run one batched matMul per kv head:
 *
 *     q [n, H, D] → [K, G·n, D]      row r = g·n + i
 *     k [L, K, D] → [K, L, D]
 *     scores = q·kᵀ / √D  [K, G·n, L]   (+ causal mask when n > 1)
 *     out = softmax(scores)·v → [K, G·n, D] → [n, H·D]
 */
import * as tf from '@tensorflow/tfjs-core';

const MASKED = -1e30;

/** Additive causal mask [G·n, L]: row g·n + i may see columns 0 … start+i. */
function causalMask(groups: number, n: number, start: number): tf.Tensor2D {
  const L = start + n;
  const mask = new Float32Array(groups * n * L);
  for (let g = 0; g < groups; g++) {
    for (let i = 0; i < n; i++) {
      const row = (g * n + i) * L;
      mask.fill(MASKED, row + start + i + 1, row + L);
    }
  }
  return tf.tensor2d(mask, [groups * n, L]);
}

/**
 * q [n, H, D] (already rotated), k/v [L, K, D] (keys rotated) → [n, H·D].
 */
export function causalAttention(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  start: number,
): tf.Tensor2D {
  return tf.tidy(() => {
    const [n, H, D] = q.shape;
    const [L, K] = k.shape;
    if (L !== start + n) throw new RangeError(`attention: context ${L} != start ${start} + new ${n}`);
    const G = H / K;
    const qk = tf.reshape(tf.transpose(tf.reshape(q, [n, K, G, D]), [1, 2, 0, 3]), [K, G * n, D]);
    const kk = tf.transpose(k, [1, 0, 2]);
    const vv = tf.transpose(v, [1, 0, 2]);
    let scores = tf.mul(tf.matMul(qk, kk, false, true), 1 / Math.sqrt(D));
    if (n > 1) scores = tf.add(scores, causalMask(G, n, start));
    const out = tf.matMul(tf.softmax(scores), vv);
    return tf.reshape(tf.transpose(tf.reshape(out, [K, G, n, D]), [2, 0, 1, 3]), [n, H * D]);
  });
}
