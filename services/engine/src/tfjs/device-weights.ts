/**
 * One shard's weight matrices uploaded to the TensorFlow.js backend once, laid out for its fast path.
 *
 * Legend: V vocab · E hidden · I intermediate · H heads · K kv heads · D head dim · X experts
 * (sizes are the shard's own: H, K, I and V are its slices, see shard-plan.ts)
 *
 * The wasm backend's XNNPACK fully-connected path (weights packed once per tensor) is taken only for
 * a 2-D matMul without transposes, so every projection is stored as `[in, out]` (the transpose of the
 * HF `[out, in]` weight), and q, k and v, which read the same input, are fused into one matrix:
 *   qkv      [E, (H + 2K)·D]   columns: q heads, then k heads, then v heads
 * Gate and up stay two matrices: one fused matMul would need a split (a copy of [T, 2·I]) after it.
 * Vectors (norms, biases) and the MoE router stay on the host, where the step's small host kernels
 * (host-ops.ts) use them; the embedding is read on the host too (one row per token).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ExpertWeights, HostTensor, LayerWeights, ModelWeights } from '../model/types.ts';

export interface DeviceMlp {
  /** [E, I] */ gate: tf.Tensor2D;
  /** [E, I] */ up: tf.Tensor2D;
  /** [I, E] */ down: tf.Tensor2D;
}

export interface DeviceLayer {
  /** [E, (H+2K)·D] */ qkv: tf.Tensor2D;
  /** [H·D, E] */ o: tf.Tensor2D;
  mlp: DeviceMlp | null;
  experts: DeviceMlp[];
}

export interface DeviceWeights {
  layers: DeviceLayer[];
  /** [E, V] */ lmHead: tf.Tensor2D;
}

/** HF `[out, in]` host matrix → device `[in, out]`. */
function inOut(t: HostTensor): tf.Tensor2D {
  return tf.tidy(() => tf.transpose(tf.tensor2d(t.data, [t.shape[0], t.shape[1]])));
}

/** Several HF `[out_i, in]` matrices → one device `[in, Σ out_i]`. */
function fusedInOut(parts: HostTensor[]): tf.Tensor2D {
  return tf.tidy(() => tf.transpose(tf.concat(parts.map((p) => tf.tensor2d(p.data, [p.shape[0], p.shape[1]])), 0)));
}

function uploadMlp(w: ExpertWeights): DeviceMlp {
  return { gate: inOut(w.gate), up: inOut(w.up), down: inOut(w.down) };
}

function uploadLayer(w: LayerWeights): DeviceLayer {
  return {
    qkv: fusedInOut([w.q, w.k, w.v]),
    o: inOut(w.o),
    mlp: w.mlp ? uploadMlp(w.mlp) : null,
    experts: w.experts.map(uploadMlp),
  };
}

export function uploadWeights(w: ModelWeights): DeviceWeights {
  return { layers: w.layers.map(uploadLayer), lmHead: inOut(w.lmHead) };
}

export function disposeWeights(d: DeviceWeights): void {
  const all: tf.Tensor[] = [d.lmHead];
  for (const l of d.layers) {
    all.push(l.qkv, l.o);
    for (const m of l.mlp ? [l.mlp, ...l.experts] : l.experts) all.push(m.gate, m.up, m.down);
  }
  tf.dispose(all);
}
