/**
 * Model weights uploaded to the TensorFlow.js backend once, re-laid out for its fast path.
 *
 * Legend: V vocab · E hidden · I intermediate · H heads · K kv heads · D head dim · X experts
 *
 * The wasm backend's XNNPACK fully-connected path is taken only for a 2-D matMul without
 * transposes, so every projection is stored as `[in, out]` (the transpose of the HF `[out, in]`
 * weight) and the projections that read the same input are fused into one matrix:
 *   qkv      [E, (H + 2K)·D]   columns: q heads, then k heads, then v heads
 *   gateUp   [E, 2·I]          columns: gate, then up
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ExpertWeights, HostTensor, LayerWeights, ModelConfig, ModelWeights } from '../model/types.ts';

export interface DeviceMlp {
  /** [E, 2·I] */ gateUp: tf.Tensor2D;
  /** [I, E] */ down: tf.Tensor2D;
  intermediate: number;
}

export interface DeviceLayer {
  /** [E] */ inputNorm: tf.Tensor1D;
  /** [E, (H+2K)·D] */ qkv: tf.Tensor2D;
  /** [(H+2K)·D] or null */ qkvBias: tf.Tensor1D | null;
  /** [H·D, E] */ o: tf.Tensor2D;
  /** [E] */ postAttnNorm: tf.Tensor1D;
  mlp: DeviceMlp | null;
  /** [E, X] */ router: tf.Tensor2D | null;
  experts: DeviceMlp[];
}

export interface DeviceWeights {
  /** [V, E] */ embed: tf.Tensor2D;
  layers: DeviceLayer[];
  /** [E] */ finalNorm: tf.Tensor1D;
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

function vec(t: HostTensor): tf.Tensor1D {
  return tf.tensor1d(t.data);
}

function uploadMlp(w: ExpertWeights): DeviceMlp {
  return { gateUp: fusedInOut([w.gate, w.up]), down: inOut(w.down), intermediate: w.gate.shape[0] };
}

function uploadLayer(w: LayerWeights): DeviceLayer {
  const biases = [w.qBias, w.kBias, w.vBias];
  const qkvBias = biases.every((b) => b !== null)
    ? tf.tensor1d(Float32Array.from(biases.flatMap((b) => [...b.data])))
    : null;
  return {
    inputNorm: vec(w.inputNorm),
    qkv: fusedInOut([w.q, w.k, w.v]),
    qkvBias,
    o: inOut(w.o),
    postAttnNorm: vec(w.postAttnNorm),
    mlp: w.mlp ? uploadMlp(w.mlp) : null,
    router: w.router ? inOut(w.router) : null,
    experts: w.experts.map(uploadMlp),
  };
}

export function uploadWeights(config: ModelConfig, w: ModelWeights): DeviceWeights {
  const embed = tf.tensor2d(w.embed.data, [config.vocabSize, config.hiddenSize]);
  return {
    embed,
    layers: w.layers.map(uploadLayer),
    finalNorm: vec(w.finalNorm),
    lmHead: inOut(w.lmHead),
  };
}

export function disposeWeights(d: DeviceWeights): void {
  const all: tf.Tensor[] = [d.embed, d.finalNorm, d.lmHead];
  for (const l of d.layers) {
    all.push(l.inputNorm, l.qkv, l.o, l.postAttnNorm);
    if (l.qkvBias) all.push(l.qkvBias);
    if (l.router) all.push(l.router);
    for (const m of l.mlp ? [l.mlp, ...l.experts] : l.experts) all.push(m.gateUp, m.down);
  }
  tf.dispose(all);
}
