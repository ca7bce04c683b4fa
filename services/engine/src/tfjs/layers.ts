/**
 * The transformer's matmul-side building blocks (the host-side ones are in host-ops.ts).
 *
 * Legend: T tokens · E hidden · I intermediate (this shard's slice)
 */
import * as tf from '@tensorflow/tfjs-core';
import { TensorMatrix, onDevice, type DeviceMlp } from './device-weights.ts';

/**
 * SwiGLU MLP: down(silu(gate·x) ⊙ up·x).   x [T, E] → [T, E]
 * On the backend path it is 6 kernels (three of them matMuls) between one upload and one read-back;
 * on the wasm-simd path three GEMMs with the activation on the host between them.
 */
export function swiGlu(x: Float32Array, T: number, w: DeviceMlp): Float32Array {
  const { gate, up, down } = w;
  if (gate instanceof TensorMatrix && up instanceof TensorMatrix && down instanceof TensorMatrix) {
    return onDevice(x, T, gate.tensor.shape[0], (t) =>
      tf.tidy(() => {
        const g = tf.matMul(t, gate.tensor);
        return tf.matMul(tf.mul(tf.mul(g, tf.sigmoid(g)), tf.matMul(t, up.tensor)), down.tensor);
      }),
    );
  }
  const g = gate.apply(x, T);
  siluMulInPlace(g, up.apply(x, T));
  return down.apply(g, T);
}

/** g ← silu(g) ⊙ u = g·σ(g)·u, elementwise. */
export function siluMulInPlace(g: Float32Array, u: Float32Array): void {
  for (let i = 0; i < g.length; i++) {
    const v = g[i];
    g[i] = (v / (1 + Math.exp(-v))) * u[i];
  }
}
