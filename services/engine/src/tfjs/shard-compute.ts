/**
 * One shard's share of a forward pass (see shard-plan.ts): the same code runs on the main thread
 * (shard 0) and in each shard worker. Inputs are the residual stream x [T, E] on the host; outputs
 * are this shard's partial sums [T, E], which the runner adds into x.
 *
 * Legend: T tokens in the step · E hidden · H/K this shard's q/kv heads · G = H/K · D head dim ·
 *         W = (H + 2K)·D fused qkv width · V this shard's vocab slice · R rows that want logits
 *
 * Per layer, kernels on the backend are only the weight matMuls (+ SwiGLU's 3 elementwise ops, and
 * attention for long prompts); norms, RoPE, bias, the KV write and short attention are host loops:
 *
 *   attention  rmsNorm(x) ─▶ [T,E]·qkv ─▶ read back [T,W] ─▶ +bias, RoPE(q·1/√D, k) ─▶ K/V into the
 *              cache (this shard's kv heads, in place) ─▶ attention per chunk ─▶ [T,H·D]·o ─▶ partial
 *   mlp        rmsNorm(x) ─▶ SwiGLU (dense) or routed experts (MoE) ─▶ partial
 *   logits     final-normed rows [R,E]·lmHead ─▶ [R,V]
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig, ModelWeights } from '../model/types.ts';
import type { PagedKvStore } from '../cache/kv-store.ts';
import { attendChunk, causalMask } from './attention.ts';
import { uploadWeights, type DeviceWeights, type MatmulKind } from './device-weights.ts';
import { ropeInPlace, rmsNormRows, type AttentionScratch } from './host-ops.ts';
import { swiGlu } from './layers.ts';
import { moeMlp, routerLogits, routeTokens } from './moe.ts';
import type { ShardSpec } from './shard-plan.ts';

/** One sequence's chunk in a step: tokens at positions start … start+n-1, rows row … row+n-1. */
export interface StepChunk {
  start: number;
  n: number;
  row: number;
  blockTable: readonly number[];
}

/** The vectors a shard reads on the host (its matrices live on the backend only). */
interface HostLayer {
  inputNorm: Float32Array;
  postAttnNorm: Float32Array;
  /** This shard's q, k and v bias slices, or null. */
  qkvBias: Float32Array[] | null;
  /** [X, E] router (MoE), else null. */
  router: Float32Array | null;
}

/** What every shard needs to know about a step. */
export interface StepPlan {
  T: number;
  /** [T] position of each row. */
  positions: Int32Array;
  chunks: StepChunk[];
}

export class ShardCompute {
  private readonly w: DeviceWeights;
  private readonly host: HostLayer[];
  private readonly heads: number;
  private readonly kvHeads: number;
  private readonly width: number;
  private h = new Float32Array(0);
  private attn = new Float32Array(0);
  private readonly scratch: AttentionScratch;
  /** Causal masks of the current step's chunks by query block (built on first use, shared by layers). */
  private masks = new Map<string, tf.Tensor2D | null>();

  constructor(
    readonly config: ModelConfig,
    readonly spec: ShardSpec,
    /** This shard's slice (sliceWeights); the embedding is not read, the matrices are uploaded. */
    weights: ModelWeights,
    private readonly store: PagedKvStore,
    private readonly rope: { cos: Float32Array; sin: Float32Array },
    /** Which matmul path runs the weight matrices (device-weights.ts). */
    matmul: MatmulKind,
  ) {
    this.w = uploadWeights(weights, matmul);
    this.host = weights.layers.map((l) => ({
      inputNorm: l.inputNorm.data,
      postAttnNorm: l.postAttnNorm.data,
      qkvBias: l.qBias && l.kBias && l.vBias ? [l.qBias.data, l.kBias.data, l.vBias.data] : null,
      router: l.router?.data ?? null,
    }));
    this.heads = spec.heads.to - spec.heads.from;
    this.kvHeads = spec.kvHeads.to - spec.kvHeads.from;
    this.width = (this.heads + 2 * this.kvHeads) * config.headDim;
    this.scratch = { scores: new Float64Array(this.heads * config.maxPositionEmbeddings), acc: new Float64Array(this.heads * config.headDim) };
  }

  dispose(): void {
    this.endStep();
    this.w.dispose();
  }

  /** Frees the step's masks; call after each forward pass. */
  endStep(): void {
    tf.dispose([...this.masks.values()].filter((m): m is tf.Tensor2D => m !== null));
    this.masks.clear();
  }

  private normed(x: Float32Array, T: number, w: Float32Array): Float32Array {
    const n = T * this.config.hiddenSize;
    if (this.h.length < n) this.h = new Float32Array(n);
    rmsNormRows(x, T, w, this.config.rmsNormEps, this.h);
    return this.h;
  }

  /** x [T, E] → this shard's attention output after o, [T, E]; writes its kv heads of layer l. */
  attention(l: number, x: Float32Array, plan: StepPlan): Float32Array {
    const c = this.config;
    const lw = this.host[l];
    const { T } = plan;
    const D = c.headDim;
    const h = this.normed(x, T, lw.inputNorm);
    const qkv = this.w.layers[l].qkv.apply(h, T);
    const W = this.width;
    if (lw.qkvBias) addBias(qkv, T, W, lw.qkvBias);
    const kOff = this.heads * D;
    ropeInPlace(qkv, T, W, 0, this.heads, D, plan.positions, this.rope, 1 / Math.sqrt(D));
    ropeInPlace(qkv, T, W, kOff, this.kvHeads, D, plan.positions, this.rope);
    if (this.attn.length < T * this.heads * D) this.attn = new Float32Array(T * this.heads * D);
    const attn = this.attn;
    const layer = this.store.layerData(l);
    for (const ch of plan.chunks) {
      const rows = qkv.subarray(ch.row * W);
      const src = { k: rows, v: rows, stride: W, kOffset: kOff, vOffset: kOff + this.kvHeads * D };
      this.store.writeHeads(l, ch.blockTable, ch.start, ch.n, src, this.spec.kvHeads.from, this.kvHeads);
      const L = ch.start + ch.n;
      const slots = new Int32Array(L);
      for (let p = 0; p < L; p++) slots[p] = this.store.slotOffset(ch.blockTable, p);
      const input = {
        q: rows, stride: W, n: ch.n, start: ch.start, k: layer.k, v: layer.v, slots,
        kvFrom: this.spec.kvHeads.from, kvHeads: this.kvHeads, G: c.numHeads / c.numKvHeads, D,
      };
      attendChunk(input, attn.subarray(ch.row * this.heads * D), this.heads * D, this.scratch, (i0, i1) => this.mask(ch, i0, i1));
    }
    return this.w.layers[l].o.apply(attn, T);
  }

  private mask(ch: StepChunk, i0: number, i1: number): tf.Tensor2D | null {
    const key = `${ch.row}:${i0}:${i1}`;
    if (!this.masks.has(key)) this.masks.set(key, i1 - i0 > 1 ? causalMask(this.config.numHeads / this.config.numKvHeads, i1 - i0, ch.start + i0) : null);
    return this.masks.get(key)!;
  }

  /**
   * x [T, E] → this shard's MLP (or MoE) output, [T, E]. For MoE, adds the tokens routed to each
   * expert into `expertCounts` when given (one shard reports them).
   */
  mlp(l: number, x: Float32Array, plan: StepPlan, expertCounts: number[] | null): Float32Array {
    const c = this.config;
    const lw = this.host[l];
    const dw = this.w.layers[l];
    const { T } = plan;
    const E = c.hiddenSize;
    const h = this.normed(x, T, lw.postAttnNorm);
    if (!c.moe) return swiGlu(h, T, dw.mlp!);
    const X = c.moe.numExperts;
    const routing = routeTokens(routerLogits(h, T, lw.router!, X), T, X, c.moe.topK, c.moe.normTopkProb);
    if (expertCounts) routing.tokens.forEach((idx, e) => (expertCounts[e] += idx.length));
    return moeMlp(h, T, E, dw.experts, routing);
  }

  /** Final-normed rows [R, E] → logits for this shard's vocab slice, [R, V]. */
  logits(rows: Float32Array, R: number): Float32Array {
    return this.w.lmHead.apply(rows, R);
  }
}

/** qkv [T, W] += (qBias ‖ kBias ‖ vBias) on every row. */
function addBias(qkv: Float32Array, T: number, W: number, parts: Float32Array[]): void {
  for (let t = 0; t < T; t++) {
    let o = t * W;
    for (const b of parts) {
      for (let i = 0; i < b.length; i++) qkv[o + i] += b[i];
      o += b.length;
    }
  }
}
