/**
 * The transformer's device-side building blocks (the host-side ones are in host-ops.ts).
 *
 * Legend: T tokens · E hidden · I intermediate (this shard's slice)
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DeviceMlp } from './device-weights.ts';

/** SwiGLU MLP: down(silu(gate·x) ⊙ up·x).   x [T, E] → [T, E] (6 kernels, three of them matMuls) */
export function swiGlu(x: tf.Tensor2D, w: DeviceMlp): tf.Tensor2D {
  return tf.tidy(() => {
    const g = tf.matMul(x, w.gate);
    const act = tf.mul(tf.mul(g, tf.sigmoid(g)), tf.matMul(x, w.up));
    return tf.matMul(act, w.down);
  });
}

/** Runs `f` on x [T, E] uploaded from the host and reads its [T, ·] result back. */
export function onDevice(x: Float32Array, T: number, E: number, f: (x: tf.Tensor2D) => tf.Tensor2D): Float32Array {
  const res = tf.tidy(() => f(tf.tensor2d(x.subarray(0, T * E), [T, E])));
  const data = res.dataSync() as Float32Array;
  res.dispose();
  return data;
}
