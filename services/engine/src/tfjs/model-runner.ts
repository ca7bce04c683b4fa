/**
 * One forward pass over a flattened batch of sequence chunks (vLLM-style: all new tokens of all
 * sequences concatenated on the token axis), reading and writing the paged KV store.
 *
 * Legend: T new tokens in the batch · E hidden · H heads · K kv heads · D head dim · V vocab
 *
 *   ids [T] → embed [T, E] → L × { attention block, MLP or MoE block } → final norm → logits
 *
 * Per layer: q/k/v come from one fused matMul; rotated k and v of the new tokens are written into
 * the store at their positions; `onLayerStored(layer)` then fires, so a prefill worker can ship that
 * layer's KV while the next layers compute; each sequence attends over its own context read back
 * from the store. Logits are computed only for the rows that need them (the last token of a chunk
 * that completes its prompt, or a decode token).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig, ModelWeights } from '../model/types.ts';
import type { PagedKvStore } from '../cache/kv-store.ts';
import { causalAttention } from './attention.ts';
import { uploadWeights, disposeWeights, type DeviceLayer, type DeviceWeights } from './device-weights.ts';
import { applyRope, rmsNorm, ropeTables, swiGlu } from './layers.ts';
import { moeMlp } from './moe.ts';

/** One sequence's share of a batch. */
export interface ForwardChunk {
  /** Token ids to run, at positions start … start+n-1. */
  tokenIds: readonly number[];
  start: number;
  blockTable: readonly number[];
  /** Return logits for the last token of this chunk. */
  wantLogits: boolean;
}

export interface ForwardResult {
  /** One [V] array per chunk with wantLogits, in chunk order. */
  logits: Float32Array[];
  /** [layer][expert] tokens routed in this pass (MoE), else null. */
  expertCounts: number[][] | null;
}

export interface ForwardHooks {
  /** Called once per layer after that layer's new K/V are in the store. */
  onLayerStored?: (layer: number) => void;
}

export class ModelRunner {
  private readonly w: DeviceWeights;
  private readonly rope: { cos: tf.Tensor2D; sin: tf.Tensor2D };

  constructor(
    readonly config: ModelConfig,
    weights: ModelWeights,
    private readonly store: PagedKvStore,
  ) {
    this.w = uploadWeights(config, weights);
    this.rope = ropeTables(config.maxPositionEmbeddings, config.headDim, config.ropeTheta);
  }

  dispose(): void {
    disposeWeights(this.w);
    tf.dispose([this.rope.cos, this.rope.sin]);
  }

  forward(chunks: readonly ForwardChunk[], hooks: ForwardHooks = {}): ForwardResult {
    const c = this.config;
    const ids = chunks.flatMap((ch) => [...ch.tokenIds]);
    const positions = chunks.flatMap((ch) => ch.tokenIds.map((_, i) => ch.start + i));
    const maxPos = Math.max(...positions);
    if (maxPos >= c.maxPositionEmbeddings) {
      throw new RangeError(`position ${maxPos} exceeds max_position_embeddings ${c.maxPositionEmbeddings}`);
    }
    const expertCounts = c.moe ? Array.from({ length: c.numLayers }, () => new Array<number>(c.moe!.numExperts).fill(0)) : null;
    const posT = tf.tensor1d(positions, 'int32');
    const cos = tf.gather<tf.Tensor2D>(this.rope.cos, posT);
    const sin = tf.gather<tf.Tensor2D>(this.rope.sin, posT);
    let x = tf.gather<tf.Tensor2D>(this.w.embed, tf.tensor1d(ids, 'int32'));
    try {
      for (let l = 0; l < c.numLayers; l++) {
        const next = this.layer(l, x, chunks, cos, sin, expertCounts?.[l] ?? null, hooks);
        x.dispose();
        x = next;
      }
      return { logits: this.logits(x, chunks), expertCounts };
    } finally {
      tf.dispose([x, posT, cos, sin]);
    }
  }

  private layer(
    l: number,
    x: tf.Tensor2D,
    chunks: readonly ForwardChunk[],
    cos: tf.Tensor2D,
    sin: tf.Tensor2D,
    expertCounts: number[] | null,
    hooks: ForwardHooks,
  ): tf.Tensor2D {
    const w = this.w.layers[l];
    const c = this.config;
    const attnOut = tf.tidy(() => {
      const h = rmsNorm(x, w.inputNorm, c.rmsNormEps);
      let qkv: tf.Tensor2D = tf.matMul(h, w.qkv);
      if (w.qkvBias) qkv = tf.add(qkv, w.qkvBias);
      const T = x.shape[0];
      const [qf, kf, vf] = tf.split(qkv, [c.numHeads * c.headDim, c.numKvHeads * c.headDim, c.numKvHeads * c.headDim], 1);
      const q = applyRope(tf.reshape(qf, [T, c.numHeads, c.headDim]), cos, sin);
      const k = applyRope(tf.reshape(kf, [T, c.numKvHeads, c.headDim]), cos, sin);
      this.storeNewKv(l, chunks, k.dataSync() as Float32Array, vf.dataSync() as Float32Array);
      hooks.onLayerStored?.(l);
      const outs = this.attendEach(l, q, chunks);
      const attn = outs.length === 1 ? outs[0] : tf.concat(outs, 0);
      return tf.add(x, tf.matMul(attn, w.o));
    });
    try {
      return this.mlpBlock(attnOut as tf.Tensor2D, w, expertCounts);
    } finally {
      attnOut.dispose();
    }
  }

  private mlpBlock(x: tf.Tensor2D, w: DeviceLayer, expertCounts: number[] | null): tf.Tensor2D {
    const c = this.config;
    const h = rmsNorm(x, w.postAttnNorm, c.rmsNormEps);
    try {
      const m = c.moe
        ? moeMlp(h, w.router!, w.experts, c.moe.topK, c.moe.normTopkProb, expertCounts!)
        : swiGlu(h, w.mlp!);
      const out = tf.add<tf.Tensor2D>(x, m);
      m.dispose();
      return out;
    } finally {
      h.dispose();
    }
  }

  /** Writes the new tokens' rotated keys and values ([T, K, D] each) into the store. */
  private storeNewKv(l: number, chunks: readonly ForwardChunk[], k: Float32Array, v: Float32Array): void {
    const slot = this.store.slotFloats;
    let row = 0;
    for (const ch of chunks) {
      const n = ch.tokenIds.length;
      const span = [row * slot, (row + n) * slot] as const;
      this.store.write(l, ch.blockTable, ch.start, { k: k.subarray(...span), v: v.subarray(...span) });
      row += n;
    }
  }

  /** q [T, H, D] → one [n, H·D] attention output per chunk. */
  private attendEach(l: number, q: tf.Tensor3D, chunks: readonly ForwardChunk[]): tf.Tensor2D[] {
    const c = this.config;
    const outs: tf.Tensor2D[] = [];
    let row = 0;
    for (const ch of chunks) {
      const n = ch.tokenIds.length;
      const L = ch.start + n;
      const ctx = this.store.read(l, ch.blockTable, 0, L);
      const kT = tf.tensor3d(ctx.k, [L, c.numKvHeads, c.headDim]);
      const vT = tf.tensor3d(ctx.v, [L, c.numKvHeads, c.headDim]);
      const qs = tf.slice(q, [row, 0, 0], [n, c.numHeads, c.headDim]);
      outs.push(causalAttention(qs, kT, vT, ch.start));
      row += n;
    }
    return outs;
  }

  /** Final norm + LM head on the last row of each chunk that wants logits. */
  private logits(x: tf.Tensor2D, chunks: readonly ForwardChunk[]): Float32Array[] {
    const rows: number[] = [];
    let end = 0;
    for (const ch of chunks) {
      end += ch.tokenIds.length;
      if (ch.wantLogits) rows.push(end - 1);
    }
    if (rows.length === 0) return [];
    const V = this.config.vocabSize;
    const flat = tf.tidy(() => {
      const h = rmsNorm(tf.gather<tf.Tensor2D>(x, tf.tensor1d(rows, 'int32')), this.w.finalNorm, this.config.rmsNormEps);
      return tf.matMul(h, this.w.lmHead);
    });
    const data = flat.dataSync() as Float32Array;
    flat.dispose();
    return rows.map((_, i) => data.slice(i * V, (i + 1) * V));
  }
}
