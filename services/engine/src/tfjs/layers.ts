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
 * on the wasm-simd path three GEMMs with the activation between them (siluMul).
 */
export function swiGlu(x: Float32Array, T: number, w: DeviceMlp): Float32Array {
  const { gate, up, down } = w;
  if (gate instanceof TensorMatrix && up instanceof TensorMatrix && down instanceof TensorMatrix) {
    return onDevice(x, T, gate.tensor.shape[0], (t) =>
      tf.tidy(() => tf.matMul(siluMulTensors(tf.matMul(t, gate.tensor), tf.matMul(t, up.tensor)), down.tensor)),
    );
  }
  return down.apply(siluMul(gate.apply(x, T), up.apply(x, T)), T);
}

/**
 * From this many elements on, silu(g)·u runs as backend kernels (vectorised sigmoid, plus a copy in
 * and out) instead of the host loop (Math.exp: 5.8 ms for one prefill layer's [512, 768] in a
 * micro-benchmark). 512-token prefill, `bench`, 2 threads, alternating: 1215/1237/1206 →
 * 1271/1242/1245 tok/s. Decode batches stay below it and on the host loop.
 */
export const BACKEND_SILU_MIN_ELEMENTS = 8192;

/** silu(g) ⊙ u (may reuse g's storage). */
function siluMul(g: Float32Array, u: Float32Array): Float32Array {
  if (g.length < BACKEND_SILU_MIN_ELEMENTS) {
    siluMulInPlace(g, u);
    return g;
  }
  const act = tf.tidy(() => siluMulTensors(tf.tensor1d(g), tf.tensor1d(u)));
  const out = act.dataSync() as Float32Array;
  act.dispose();
  return out;
}

/** silu(g) ⊙ u = g·σ(g)·u as backend kernels. */
function siluMulTensors<T extends tf.Tensor>(g: T, u: T): T {
  return tf.mul(tf.mul(g, tf.sigmoid(g)), u);
}

/** g ← silu(g) ⊙ u = g·σ(g)·u, elementwise on the host. */
function siluMulInPlace(g: Float32Array, u: Float32Array): void {
  for (let i = 0; i < g.length; i++) {
    const v = g[i];
    g[i] = (v / (1 + Math.exp(-v))) * u[i];
  }
}
