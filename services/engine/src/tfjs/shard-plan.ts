/**
 * Tensor parallelism across threads (Megatron-style): how one model is cut into shards, one per
 * thread, and each shard's slice of the weights.
 *
 * Legend: V vocab · E hidden · I intermediate · H heads · K kv heads · G = H/K · D head dim · X experts
 *
 * Shard s owns a contiguous range of kv heads (and the G query heads that read each of them), a
 * contiguous range of the MLP's intermediate columns (every expert's, for MoE) and of the vocabulary:
 *
 *     attention   q/k/v rows of its heads → its heads' attention → o columns of its heads → partial [T, E]
 *     MLP         gate/up rows [i0, i1)   → SwiGLU              → down columns [i0, i1)  → partial [T, E]
 *     LM head     rows [v0, v1)           → logits [T, v1 − v0]
 *
 * The residual stream is the sum of the shards' partials (one reduction after attention, one after
 * the MLP, per layer). Norms, the embedding and the MoE router are small and stay whole. Ranges are
 * balanced (sizes differ by at most one unit); the shard count is capped so no range is empty.
 */
import type { ExpertWeights, HostTensor, LayerWeights, ModelConfig, ModelWeights } from '../model/types.ts';

/** Half-open index range [from, to). */
export interface IndexRange {
  from: number;
  to: number;
}

export interface ShardSpec {
  index: number;
  count: number;
  kvHeads: IndexRange;
  /** Query heads: kvHeads scaled by G. */
  heads: IndexRange;
  /** Dense MLP intermediate columns (llama), or each expert's (MoE). */
  intermediate: IndexRange;
  vocab: IndexRange;
}

/** Range i of n balanced parts of [0, size). */
export function splitRange(size: number, parts: number, i: number): IndexRange {
  const base = Math.floor(size / parts);
  const extra = size % parts;
  const from = i * base + Math.min(i, extra);
  return { from, to: from + base + (i < extra ? 1 : 0) };
}

/** Shards for `threads` threads: at most one per kv head, per intermediate column and per vocab id. */
export function planShards(config: ModelConfig, threads: number): ShardSpec[] {
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, got ${threads}`);
  const inter = config.moe ? config.moe.expertIntermediateSize : config.intermediateSize;
  const count = Math.min(threads, config.numKvHeads, inter, config.vocabSize);
  const G = config.numHeads / config.numKvHeads;
  return Array.from({ length: count }, (_, i) => {
    const kvHeads = splitRange(config.numKvHeads, count, i);
    return {
      index: i,
      count,
      kvHeads,
      heads: { from: kvHeads.from * G, to: kvHeads.to * G },
      intermediate: splitRange(inter, count, i),
      vocab: splitRange(config.vocabSize, count, i),
    };
  });
}

const len = (r: IndexRange): number => r.to - r.from;

/** Rows [from, to) of a row-major [rows, cols] tensor (the same object when that is all of it). */
function rows(t: HostTensor, r: IndexRange): HostTensor {
  const [n, cols] = t.shape;
  if (r.from === 0 && r.to === n) return t;
  return { shape: [len(r), cols], data: t.data.slice(r.from * cols, r.to * cols) };
}

/** Columns [from, to) of a row-major [rows, cols] tensor. */
function columns(t: HostTensor, r: IndexRange): HostTensor {
  const [n, cols] = t.shape;
  if (r.from === 0 && r.to === cols) return t;
  const w = len(r);
  const data = new Float32Array(n * w);
  for (let i = 0; i < n; i++) data.set(t.data.subarray(i * cols + r.from, i * cols + r.to), i * w);
  return { shape: [n, w], data };
}

const vec = (t: HostTensor | null, r: IndexRange): HostTensor | null =>
  t && (r.from === 0 && r.to === t.shape[0] ? t : { shape: [len(r)], data: t.data.slice(r.from, r.to) });

function scaled(r: IndexRange, f: number): IndexRange {
  return { from: r.from * f, to: r.to * f };
}

function sliceMlp(m: ExpertWeights, s: ShardSpec): ExpertWeights {
  return { gate: rows(m.gate, s.intermediate), up: rows(m.up, s.intermediate), down: columns(m.down, s.intermediate) };
}

function sliceLayer(l: LayerWeights, s: ShardSpec, D: number): LayerWeights {
  const q = scaled(s.heads, D);
  const kv = scaled(s.kvHeads, D);
  return {
    inputNorm: l.inputNorm,
    q: rows(l.q, q),
    k: rows(l.k, kv),
    v: rows(l.v, kv),
    o: columns(l.o, q),
    qBias: vec(l.qBias, q),
    kBias: vec(l.kBias, kv),
    vBias: vec(l.vBias, kv),
    postAttnNorm: l.postAttnNorm,
    mlp: l.mlp && sliceMlp(l.mlp, s),
    router: l.router,
    experts: l.experts.map((e) => sliceMlp(e, s)),
  };
}

/**
 * Shard s's weights in the model's own orientation (`[out, in]`), sliced as the file header says.
 * The embedding, norms and router stay whole; a single shard gets the model's own tensors back.
 */
export function sliceWeights(config: ModelConfig, w: ModelWeights, s: ShardSpec): ModelWeights {
  return {
    embed: w.embed,
    layers: w.layers.map((l) => sliceLayer(l, s, config.headDim)),
    finalNorm: w.finalNorm,
    lmHead: rows(w.lmHead, s.vocab),
  };
}
