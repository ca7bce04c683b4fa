/**
 * The transformer's building blocks as small TensorFlow.js functions, each testable on toy sizes.
 *
 * Legend: T tokens · E hidden · I intermediate · H heads · K kv heads · D head dim
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DeviceMlp } from './device-weights.ts';

/** HF LlamaRMSNorm: x / sqrt(mean(x²) + eps) · w.   x [T, E], w [E] → [T, E] */
export function rmsNorm(x: tf.Tensor2D, w: tf.Tensor1D, eps: number): tf.Tensor2D {
  return tf.tidy(() => {
    const ms = tf.mean(tf.square(x), -1, true);
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), w);
  });
}

/**
 * Rotary cos/sin tables for positions 0 … maxPositions-1, computed in float64 on the host:
 * angle(p, i) = p · θ^(−2i/D), i < D/2. Returns two [maxPositions, D/2] tensors.
 */
export function ropeTables(maxPositions: number, headDim: number, theta: number): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const half = headDim / 2;
  const cos = new Float32Array(maxPositions * half);
  const sin = new Float32Array(maxPositions * half);
  for (let i = 0; i < half; i++) {
    const invFreq = Math.pow(theta, (-2 * i) / headDim);
    for (let p = 0; p < maxPositions; p++) {
      cos[p * half + i] = Math.cos(p * invFreq);
      sin[p * half + i] = Math.sin(p * invFreq);
    }
  }
  return { cos: tf.tensor2d(cos, [maxPositions, half]), sin: tf.tensor2d(sin, [maxPositions, half]) };
}

/**
 * RoPE in the HF "rotate_half" convention: the pair of dimension i is (i, i + D/2).
 *   x [T, n, D] (n heads), cos/sin [T, D/2] for each token's position → [T, n, D]
 */
export function applyRope(x: tf.Tensor3D, cos: tf.Tensor2D, sin: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    const half = x.shape[2] / 2;
    const [x1, x2] = tf.split(x, [half, half], 2);
    const c = tf.expandDims(cos, 1);
    const s = tf.expandDims(sin, 1);
    const r1 = tf.sub(tf.mul(x1, c), tf.mul(x2, s));
    const r2 = tf.add(tf.mul(x2, c), tf.mul(x1, s));
    return tf.concat([r1, r2], 2) as tf.Tensor3D;
  });
}

/** SwiGLU MLP: down(silu(gate·x) ⊙ up·x).   x [T, E] → [T, E] */
export function swiGlu(x: tf.Tensor2D, w: DeviceMlp): tf.Tensor2D {
  return tf.tidy(() => {
    const gu = tf.matMul(x, w.gateUp);
    const [g, u] = tf.split(gu, [w.intermediate, w.intermediate], 1);
    const act = tf.mul(tf.mul(g, tf.sigmoid(g)), u);
    return tf.matMul(act, w.down);
  });
}
