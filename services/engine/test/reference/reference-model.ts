/**
 * The slow, independent reference forward pass that defines the engine's correctness: a
 * Llama-family decoder (dense SwiGLU or top-k MoE) in plain TypeScript loops, no tfjs.
 *
 * Dimensions: T tokens · E hidden · H heads · K kv heads · D head dim · V vocab · X experts
 *
 * Precision: weights are f32 (exact in f64); embeddings, activations, attention and every
 * accumulation are float64; logits are rounded to float32 once, when stored. The result is
 * therefore close to exact math, and an f32 engine's distance from it is the engine's own error.
 *
 * Two loop orders over the same ops, so each checks the other:
 *   referenceForward      layer-major: all T tokens through layer 0, then layer 1, ...
 *   ReferenceDecoder      token-major: one token through every layer, against an explicit KV cache
 */
import type { LayerWeights, ModelConfig, ModelWeights } from '../../src/model/types.ts';
import type { AttentionShape, Vec } from './reference-ops.ts';
import { attendOne, linear, moeMlp, moeRoute, rmsNorm, rope, swiglu } from './reference-ops.ts';
import { checkInputs, checkWeights } from './reference-checks.ts';

export interface ReferenceForwardOptions {
  /** Logits for every position (default: only the last). */
  returnAllLogits?: boolean;
}

export interface ReferenceForwardResult {
  /** One [V] row per position, or only the last position's. */
  logits: Float32Array[];
  /** MoE only: [layer][expert] number of tokens routed to that expert. */
  expertCounts?: number[][];
}

function attentionShape(c: ModelConfig): AttentionShape {
  return { numHeads: c.numHeads, numKvHeads: c.numKvHeads, headDim: c.headDim };
}

/** Row `id` of the embedding table, as f64. → [E] */
function embedRow(weights: ModelWeights, id: number): Vec {
  const e = weights.embed.shape[1];
  return Float64Array.from(weights.embed.data.subarray(id * e, (id + 1) * e));
}

/** q, k, v of one normed token at `position`, RoPE applied to q and k. x [E] → q [H·D], k, v [K·D] */
function projectQkv(c: ModelConfig, lw: LayerWeights, x: Vec, position: number) {
  return {
    q: rope(linear(x, lw.q, lw.qBias), c.headDim, position, c.ropeTheta),
    k: rope(linear(x, lw.k, lw.kBias), c.headDim, position, c.ropeTheta),
    v: linear(x, lw.v, lw.vBias),
  };
}

/**
 * The MLP sub-block output (no residual): post-attention RMSNorm, then dense SwiGLU or MoE.
 * Counts each routed expert into `counts` ([X]) when given. x [E] → [E]
 */
function mlpBlock(c: ModelConfig, lw: LayerWeights, x: Vec, counts?: number[]): Vec {
  const normed = rmsNorm(x, lw.postAttnNorm, c.rmsNormEps);
  if (!c.moe) {
    if (!lw.mlp) throw new Error('reference: dense layer without mlp');
    return swiglu(normed, lw.mlp);
  }
  if (!lw.router) throw new Error('reference: moe layer without router');
  const route = moeRoute(linear(normed, lw.router), c.moe.topK, c.moe.normTopkProb);
  if (counts) for (const e of route.experts) counts[e]++;
  return moeMlp(normed, lw.experts, route);
}

/** Zeroed [layer][expert] routing counts for an MoE model; undefined for a dense one. */
function newExpertCounts(c: ModelConfig): number[][] | undefined {
  const moe = c.moe;
  if (!moe) return undefined;
  return Array.from({ length: c.numLayers }, () => new Array<number>(moe.numExperts).fill(0));
}

function add(a: Vec, b: Vec): Vec {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i];
  return out;
}

/** Final RMSNorm and lmHead, rounded to f32. x [E] → [V] */
function logitsOf(c: ModelConfig, w: ModelWeights, x: Vec): Float32Array {
  return Float32Array.from(linear(rmsNorm(x, w.finalNorm, c.rmsNormEps), w.lmHead));
}

/** One decoder layer over the whole sequence (causal). hidden [T][E] → [T][E] */
function layerForward(c: ModelConfig, lw: LayerWeights, hidden: Vec[], counts?: number[]): Vec[] {
  const qkv = hidden.map((x, t) => projectQkv(c, lw, rmsNorm(x, lw.inputNorm, c.rmsNormEps), t));
  const keys = qkv.map((p) => p.k);
  const values = qkv.map((p) => p.v);
  return hidden.map((x, t) => {
    // Causal mask: position t sees keys 0..t only.
    const attn = attendOne(qkv[t].q, keys.slice(0, t + 1), values.slice(0, t + 1), attentionShape(c));
    const afterAttn = add(x, linear(attn, lw.o));
    return add(afterAttn, mlpBlock(c, lw, afterAttn, counts));
  });
}

/** The full forward pass over `tokenIds` (positions 0..T-1). tokenIds [T] → logits [T or 1][V] */
export function referenceForward(
  config: ModelConfig,
  weights: ModelWeights,
  tokenIds: number[],
  opts: ReferenceForwardOptions = {},
): ReferenceForwardResult {
  checkWeights(config, weights);
  checkInputs(config, tokenIds);
  const counts = newExpertCounts(config);
  let hidden = tokenIds.map((id) => embedRow(weights, id));
  weights.layers.forEach((lw, l) => {
    hidden = layerForward(config, lw, hidden, counts?.[l]);
  });
  const rows = opts.returnAllLogits ? hidden : hidden.slice(-1);
  const logits = rows.map((x) => logitsOf(config, weights, x));
  return counts ? { logits, expertCounts: counts } : { logits };
}

/** Index of the largest logit; the lowest index wins a tie. logits [V] → id */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/**
 * Greedy decoding by recomputing the whole forward pass for every new token (slow, obviously right).
 * Returns exactly `maxNewTokens` new ids (the prompt excluded); it does not stop at EOS, so cut the
 * result at the first EOS to compare with an engine that stops there.
 */
export function referenceGreedy(
  config: ModelConfig,
  weights: ModelWeights,
  promptIds: number[],
  maxNewTokens: number,
): number[] {
  const ids = [...promptIds];
  const out: number[] = [];
  for (let i = 0; i < maxNewTokens; i++) {
    const next = argmax(referenceForward(config, weights, ids).logits[0]);
    ids.push(next);
    out.push(next);
  }
  return out;
}

/**
 * Token-at-a-time decoding with an explicit KV cache: keys[layer][position] is that token's
 * RoPE'd k [K·D], values[layer][position] its v [K·D]. Appending token t runs it through every
 * layer, attending to positions 0..t, and returns its logits [V].
 */
export class ReferenceDecoder {
  readonly keys: Vec[][];
  readonly values: Vec[][];
  /** MoE only: [layer][expert] tokens routed so far. */
  readonly expertCounts: number[][] | undefined;

  constructor(
    private readonly config: ModelConfig,
    private readonly weights: ModelWeights,
  ) {
    checkWeights(config, weights);
    this.keys = weights.layers.map(() => []);
    this.values = weights.layers.map(() => []);
    this.expertCounts = newExpertCounts(config);
  }

  /** Tokens appended so far (the position the next token takes). */
  get position(): number {
    return this.keys[0]?.length ?? 0;
  }

  /** Appends one token at `position`. → logits [V] */
  append(tokenId: number): Float32Array {
    const c = this.config;
    checkInputs(c, [tokenId]);
    const t = this.position;
    let x = embedRow(this.weights, tokenId);
    this.weights.layers.forEach((lw, l) => {
      const { q, k, v } = projectQkv(c, lw, rmsNorm(x, lw.inputNorm, c.rmsNormEps), t);
      this.keys[l].push(k);
      this.values[l].push(v);
      const attn = attendOne(q, this.keys[l], this.values[l], attentionShape(c));
      x = add(x, linear(attn, lw.o));
      x = add(x, mlpBlock(c, lw, x, this.expertCounts?.[l]));
    });
    return logitsOf(c, this.weights, x);
  }
}

/** Greedy decoding through `ReferenceDecoder`; same contract as `referenceGreedy`. */
export function referenceGreedyIncremental(
  config: ModelConfig,
  weights: ModelWeights,
  promptIds: number[],
  maxNewTokens: number,
): number[] {
  checkInputs(config, promptIds);
  const decoder = new ReferenceDecoder(config, weights);
  let logits: Float32Array = new Float32Array(0);
  for (const id of promptIds) logits = decoder.append(id);
  const out: number[] = [];
  for (let i = 0; i < maxNewTokens; i++) {
    const next = argmax(logits);
    out.push(next);
    if (i + 1 < maxNewTokens) logits = decoder.append(next);
  }
  return out;
}
