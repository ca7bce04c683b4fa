/**
 * One shard's weight matrices, packed once for the matmul path the engine runs (`MatmulKind`):
 *
 *   wasm-simd  Duet's own WebAssembly SIMD GEMM (gemm/): the weights live in its memory, packed
 *              in panels of 8 columns; activations are copied in and the result out per call.
 *   backend    the TensorFlow.js backend's matMul: weights uploaded as tensors. The wasm backend's
 *              XNNPACK fully-connected path (weights packed once per tensor) is taken only for a
 *              2-D matMul without transposes, so every projection is stored as `[in, out]`.
 *
 * Legend: V vocab · E hidden · I intermediate · H heads · K kv heads · D head dim · X experts
 * (sizes are the shard's own: H, K, I and V are its slices, see shard-plan.ts)
 *
 * Either way every projection computes x [T, in] → [T, out], and q, k and v, which read the same
 * input, are fused into one matrix:
 *   qkv      [E, (H + 2K)·D]   columns: q heads, then k heads, then v heads
 * Vectors (norms, biases) and the MoE router stay on the host, where the step's small host kernels
 * (host-ops.ts) use them; the embedding is read on the host too (one row per token).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ExpertWeights, HostTensor, LayerWeights, ModelWeights } from '../model/types.ts';
import { WasmGemm } from './gemm/index.ts';
import type { PackedMatrix } from './gemm/index.ts';
import type { BackendName } from './backend.ts';

export const MATMUL_KINDS = ['wasm-simd', 'backend'] as const;
export type MatmulKind = (typeof MATMUL_KINDS)[number];

/**
 * `auto`: the backend's matMul for `tensorflow` (native kernels) or where WebAssembly SIMD is
 * missing; otherwise the wasm-simd GEMM, which prefills ~15 % and decodes one sequence ~20 % faster
 * than the wasm backend on the `bench` model, with the weights held once (docs/engine.md).
 * `wasm-simd` where WebAssembly SIMD is missing is an error.
 */
export function resolveMatmul(choice: MatmulKind | 'auto', backend: BackendName): MatmulKind {
  if (choice === 'wasm-simd' && !WasmGemm.available) throw new RangeError('engine option matmul: wasm-simd needs WebAssembly SIMD, which this runtime lacks');
  if (choice !== 'auto') return choice;
  return backend === 'tensorflow' || !WasmGemm.available ? 'backend' : 'wasm-simd';
}

/** A weight matrix on the matmul path: x [T, in] → a new [T, out]. */
export interface DeviceMatrix {
  apply(x: Float32Array, T: number): Float32Array;
}

export interface DeviceMlp {
  /** [E, I] */ gate: DeviceMatrix;
  /** [E, I] */ up: DeviceMatrix;
  /** [I, E] */ down: DeviceMatrix;
}

export interface DeviceLayer {
  /** [E, (H+2K)·D] */ qkv: DeviceMatrix;
  /** [H·D, E] */ o: DeviceMatrix;
  mlp: DeviceMlp | null;
  experts: DeviceMlp[];
}

export interface DeviceWeights {
  kind: MatmulKind;
  layers: DeviceLayer[];
  /** [E, V] */ lmHead: DeviceMatrix;
  dispose(): void;
}

/** A matrix as a TensorFlow.js tensor `[in, out]` (its backend's matMul). */
export class TensorMatrix implements DeviceMatrix {
  constructor(readonly tensor: tf.Tensor2D) {}

  apply(x: Float32Array, T: number): Float32Array {
    return onDevice(x, T, this.tensor.shape[0], (t) => tf.matMul(t, this.tensor));
  }
}

/** A matrix packed into a WasmGemm. */
class PackedWasmMatrix implements DeviceMatrix {
  constructor(
    private readonly gemm: WasmGemm,
    private readonly packed: PackedMatrix,
  ) {}

  apply(x: Float32Array, T: number): Float32Array {
    return this.gemm.matmul(x, T, this.packed);
  }
}

/** Runs `f` on x [T, E] uploaded from the host and reads its [T, ·] result back. */
export function onDevice(x: Float32Array, T: number, E: number, f: (x: tf.Tensor2D) => tf.Tensor2D): Float32Array {
  const res = tf.tidy(() => f(tf.tensor2d(x.subarray(0, T * E), [T, E])));
  const data = res.dataSync() as Float32Array;
  res.dispose();
  return data;
}

/** HF `[out_i, in]` host matrices, stacked along out → one `[in, Σ out_i]` tensor. */
function tensorInOut(parts: HostTensor[]): TensorMatrix {
  return new TensorMatrix(tf.tidy(() => tf.transpose(tf.concat(parts.map((p) => tf.tensor2d(p.data, [p.shape[0], p.shape[1]])), 0))));
}

function upload(w: ModelWeights, matrix: (parts: HostTensor[]) => DeviceMatrix, lmHeadMatrix = matrix): Pick<DeviceWeights, 'layers' | 'lmHead'> {
  const mlp = (m: ExpertWeights): DeviceMlp => ({ gate: matrix([m.gate]), up: matrix([m.up]), down: matrix([m.down]) });
  const layer = (l: LayerWeights): DeviceLayer => ({
    qkv: matrix([l.q, l.k, l.v]),
    o: matrix([l.o]),
    mlp: l.mlp ? mlp(l.mlp) : null,
    experts: l.experts.map(mlp),
  });
  return { layers: w.layers.map(layer), lmHead: lmHeadMatrix([w.lmHead]) };
}

export function uploadWeights(w: ModelWeights, kind: MatmulKind): DeviceWeights {
  const tensors: tf.Tensor[] = [];
  const tensorMatrix = (parts: HostTensor[]): TensorMatrix => {
    const m = tensorInOut(parts);
    tensors.push(m.tensor);
    return m;
  };
  const dispose = (): void => tf.dispose(tensors.splice(0)); // packed wasm-simd weights go with the WasmGemm's memory
  if (kind === 'backend') return { kind, ...upload(w, tensorMatrix), dispose };
  const gemm = new WasmGemm();
  const packed = (parts: HostTensor[]): DeviceMatrix => new PackedWasmMatrix(gemm, gemm.packOutIn(parts.map((p) => ({ data: p.data, rows: p.shape[0] }))));
  // The LM head is the one matrix XNNPACK runs faster: a decode batch streams all of its weights
  // (32 MB per shard on `bench`) for a few rows, 3.0 vs 3.6–4.0 ms at 8 rows, equal at 1.
  return { kind, ...upload(w, packed, tensorMatrix), dispose };
}
