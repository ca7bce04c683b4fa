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
 *
 * The wasm backend runs a batched (3-D) matMul through a slow generic loop; only a 2-D matMul
 * without transposes takes the XNNPACK fast path. So when a kv head has many query rows (prefill),
 * the products run per kv head as 2-D matMuls against kᵀ materialised as [D, L]; a decode step
 * (G·n small) keeps the single batched matMul, where per-op overhead would dominate instead.
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

/** Query rows per kv head from which the per-head 2-D path beats one batched matMul. */
const PER_HEAD_MIN_ROWS = 16;

/** qk [K, R, D], k/v [L, K, D], mask [R, L] → [K, R, D] with one batched matMul per product. */
function batched(qk: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, mask: tf.Tensor2D | null): tf.Tensor3D {
  const scale = 1 / Math.sqrt(qk.shape[2]);
  let scores = tf.mul(tf.matMul(qk, tf.transpose(k, [1, 0, 2]), false, true), scale);
  if (mask) scores = tf.add(scores, mask);
  return tf.matMul(tf.softmax(scores), tf.transpose(v, [1, 0, 2]));
}

/** As `batched`, one kv head at a time with 2-D matMuls (the fast path): [R, D]·[D, L], [R, L]·[L, D]. */
function perHead(qk: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, mask: tf.Tensor2D | null): tf.Tensor3D {
  const scale = 1 / Math.sqrt(qk.shape[2]);
  const kT = tf.transpose(k, [1, 2, 0]); // [K, D, L]
  const vv = tf.transpose(v, [1, 0, 2]); // [K, L, D]
  const qs = tf.unstack(qk);
  const ks = tf.unstack(kT);
  const vs = tf.unstack(vv);
  const outs = qs.map((qh, h) => {
    let scores = tf.mul(tf.matMul(qh as tf.Tensor2D, ks[h] as tf.Tensor2D), scale);
    if (mask) scores = tf.add(scores, mask);
    return tf.matMul(tf.softmax(scores), vs[h]);
  });
  return tf.stack(outs) as tf.Tensor3D;
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
    const qk = tf.reshape<tf.Rank.R3>(tf.transpose(tf.reshape(q, [n, K, G, D]), [1, 2, 0, 3]), [K, G * n, D]);
    const mask = n > 1 ? causalMask(G, n, start) : null;
    const out = G * n >= PER_HEAD_MIN_ROWS ? perHead(qk, k, v, mask) : batched(qk, k, v, mask);
    return tf.reshape(tf.transpose(tf.reshape(out, [K, G, n, D]), [2, 0, 1, 3]), [n, H * D]);
  });
}
