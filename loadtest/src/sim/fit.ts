/**
 * Fitting the simulator's cost model (cost-model.ts) from benchmark output: the JSON objects that
 * `npm run bench:engine` and `npm run bench:kv-transfer` print (any other lines are skipped, so a
 * whole captured stdout can be given).
 *
 * What bench:engine measured, as equations of the step model:
 *
 *   decode b = 1, 8, 32   step = 1000·b / decode_tps_b  =  base + b · (decodeSeq + 40.5 · pair)
 *                         (32-token prompts, 16 timed steps: each sequence attends to 33 … 48 keys)
 *   prefill 512           1000·512 / prefill_tps_512    =  base + 512 · prefillToken + 131,328 · pair
 *                         (one forward pass from position 0: 512·513/2 attention pairs)
 *
 *   0. several bench:engine records (runs before and after a measurement) are averaged as step
 *      times (ms), not as rates.
 *   1. base and the per-sequence slope: least squares over the decode points (base ≥ 0).
 *   2. prefill: one measured point cannot separate the per-token weight cost from the attention
 *      cost, so both are priced at one rate k (ms per FLOP), fitted to that point:
 *        prefillToken = k · 2 · bodyParams           (the weight matmuls of one token)
 *        pair         = k · 4 · hidden · layers      (QKᵀ and AV over every head of every layer)
 *   3. decodeSeq = slope − 40.5 · pair  (what a decode token costs beyond its attention), ≥ 0.
 *   4. transfer bandwidth: Duet's own transport figure (duet_nats_MBps or duet_tcp_MBps).
 *
 * The residual of every measured point is kept in the model's `fit` section.
 */
import { COST_MODEL_KIND, chunkPairs, parseCostModel, type CostModel } from './cost-model.ts';

export interface EngineBench {
  model: string;
  backend: string;
  threads: number;
  weight_bytes: number;
  prefill_tps_512: number;
  decode_tps_b1: number;
  decode_tps_b8: number;
  decode_tps_b32: number;
}

export interface KvTransferBench {
  bytes: number;
  duet_nats_MBps: number;
  duet_tcp_MBps: number;
}

/** Shape of the measured model (a generated preset or a model folder's config.json). */
export interface FitShape {
  name: string;
  layers: number;
  hiddenSize: number;
  numHeads: number;
  kvHeads: number;
  intermediateSize: number;
  vocabSize: number;
  maxContextTokens: number;
}

export interface FitOptions {
  /** One or more bench:engine records; several (runs before and after a measurement) are averaged as step times. */
  engine: EngineBench | readonly EngineBench[];
  kvTransfer: KvTransferBench | null;
  /** Used when no kv-transfer record is given. */
  bandwidthMBps?: number;
  shape: FitShape;
  transport: 'nats' | 'tcp';
  /** The command that produced the inputs and this fit, kept as provenance. */
  command: string;
  routeMs?: number;
  hopMs?: number;
}

/** Fixed platform delays (not fitted): NATS request/reply p50 is 0.15–0.19 ms on these machines. */
export const PLATFORM_DEFAULTS = { routeMs: 2, hopMs: 0.5, transferLatencyMs: 1 } as const;

/** bench:engine decode: 32-token prompts, 16 timed steps → mean keys attended per token. */
const DECODE_CONTEXT = 32 + 8.5;
const DECODE_BATCHES = [1, 8, 32] as const;
const PREFILL_TOKENS = 512;

export class FitError extends Error {
  override name = 'FitError';
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The bench records found in captured output (one JSON object per line; other lines skipped). */
export function readBenchRecords(text: string): { engine: EngineBench[]; kvTransfer: KvTransferBench[] } {
  const engine: EngineBench[] = [];
  const kvTransfer: KvTransferBench[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(t) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (['weight_bytes', 'prefill_tps_512', 'decode_tps_b1', 'decode_tps_b8', 'decode_tps_b32'].every((k) => isNum(o[k]))) engine.push(o as unknown as EngineBench);
    else if (['duet_nats_MBps', 'duet_tcp_MBps'].every((k) => isNum(o[k]))) kvTransfer.push(o as unknown as KvTransferBench);
  }
  return { engine, kvTransfer };
}

/** Ordinary least squares y = a + b·x; returns [a, b]. */
function linearFit(xs: readonly number[], ys: readonly number[]): [number, number] {
  const n = xs.length;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  const b = sxy / sxx;
  return [my - b * mx, b];
}

/** Parameters of one token's weight matmuls (embedding lookup and LM head excluded). */
export function bodyParams(s: FitShape): number {
  const headDim = s.hiddenSize / s.numHeads;
  const attn = 2 * s.hiddenSize * s.hiddenSize + 2 * s.hiddenSize * s.kvHeads * headDim;
  const mlp = 3 * s.hiddenSize * s.intermediateSize;
  return s.layers * (attn + mlp);
}

function checkEngine(e: EngineBench): void {
  for (const k of ['prefill_tps_512', 'decode_tps_b1', 'decode_tps_b8', 'decode_tps_b32'] as const) {
    if (!(e[k] > 0)) throw new FitError(`bench:engine record: ${k} must be > 0, got ${e[k]}`);
  }
}

const mean = (xs: readonly number[]): number => xs.reduce((a, x) => a + x, 0) / xs.length;

export function fitCostModel(o: FitOptions): CostModel {
  const runs: readonly EngineBench[] = Array.isArray(o.engine) ? o.engine : [o.engine as EngineBench];
  if (runs.length === 0) throw new FitError('no bench:engine record to fit');
  runs.forEach(checkEngine);
  const e = runs[runs.length - 1];
  const s = o.shape;
  const decodeMs = DECODE_BATCHES.map((b) => mean(runs.map((r) => (1000 * b) / r[`decode_tps_b${b}`])));
  let [base, slope] = linearFit([...DECODE_BATCHES], decodeMs);
  if (base < 0) {
    base = 0;
    slope = DECODE_BATCHES.reduce((a, b, i) => a + b * decodeMs[i], 0) / DECODE_BATCHES.reduce((a, b) => a + b * b, 0);
  }
  const prefillMs = mean(runs.map((r) => (1000 * PREFILL_TOKENS) / r.prefill_tps_512));
  const tokenFlops = 2 * bodyParams(s);
  const pairFlops = 4 * s.hiddenSize * s.layers;
  const pairs512 = chunkPairs(0, PREFILL_TOKENS);
  const k = Math.max(0, prefillMs - base) / (PREFILL_TOKENS * tokenFlops + pairs512 * pairFlops);
  const step = { baseMs: base, prefillTokenMs: k * tokenFlops, decodeSeqMs: Math.max(0, slope - DECODE_CONTEXT * k * pairFlops), attentionPairMs: k * pairFlops };
  const bandwidth = o.kvTransfer ? (o.transport === 'nats' ? o.kvTransfer.duet_nats_MBps : o.kvTransfer.duet_tcp_MBps) : o.bandwidthMBps;
  if (!(bandwidth !== undefined && bandwidth > 0)) throw new FitError(`no KV link bandwidth: give bench:kv-transfer output (duet_${o.transport}_MBps) or a bandwidth`);
  const predicted = (b: number): number => step.baseMs + b * (step.decodeSeqMs + DECODE_CONTEXT * step.attentionPairMs);
  const prefillPredicted = step.baseMs + PREFILL_TOKENS * step.prefillTokenMs + pairs512 * step.attentionPairMs;
  const rel = (p: number, m: number): number => round4((p - m) / m);
  const headDim = s.hiddenSize / s.numHeads;
  return parseCostModel({
    kind: COST_MODEL_KIND,
    version: 1,
    model: {
      name: e.model, layers: s.layers, hiddenSize: s.hiddenSize, kvHeads: s.kvHeads, headDim,
      vocabSize: s.vocabSize, maxContextTokens: s.maxContextTokens, kvBytesPerToken: s.layers * 2 * s.kvHeads * headDim * 4,
    },
    step: { baseMs: round4(step.baseMs), prefillTokenMs: round6(step.prefillTokenMs), decodeSeqMs: round4(step.decodeSeqMs), attentionPairMs: round9(step.attentionPairMs) },
    transfer: { transport: o.transport, bandwidthMBps: bandwidth, latencyMs: PLATFORM_DEFAULTS.transferLatencyMs },
    platform: { routeMs: o.routeMs ?? PLATFORM_DEFAULTS.routeMs, hopMs: o.hopMs ?? PLATFORM_DEFAULTS.hopMs },
    fit: {
      command: o.command,
      shape: s.name,
      engine: runs.length === 1 ? e : runs,
      kv_transfer: o.kvTransfer,
      measured_ms: { decode_step_b1: round4(decodeMs[0]), decode_step_b8: round4(decodeMs[1]), decode_step_b32: round4(decodeMs[2]), prefill_512: round4(prefillMs) },
      relative_residuals: {
        decode_step_b1: rel(predicted(1), decodeMs[0]),
        decode_step_b8: rel(predicted(8), decodeMs[1]),
        decode_step_b32: rel(predicted(32), decodeMs[2]),
        prefill_512: rel(prefillPredicted, prefillMs),
      },
    },
  });
}

const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;
const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;
const round9 = (x: number): number => Math.round(x * 1e9) / 1e9;

/** A Hugging Face config.json (Llama family) as a FitShape. */
export function shapeFromConfig(cfg: Record<string, unknown>, name: string): FitShape {
  const need = (k: string): number => {
    const v = cfg[k];
    if (!isNum(v) || v <= 0) throw new FitError(`${name}: config.json "${k}" must be a positive number, got ${JSON.stringify(v)}`);
    return v;
  };
  const heads = need('num_attention_heads');
  return {
    name,
    layers: need('num_hidden_layers'),
    hiddenSize: need('hidden_size'),
    numHeads: heads,
    kvHeads: isNum(cfg.num_key_value_heads) ? cfg.num_key_value_heads : heads,
    intermediateSize: need('intermediate_size'),
    vocabSize: need('vocab_size'),
    maxContextTokens: need('max_position_embeddings'),
  };
}
