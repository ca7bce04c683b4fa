/**
 * llama.cpp (through node-llama-cpp) timed the way bench/measure.ts times Duet:
 *
 *   prefill  one n-token prompt in one forward pass (batch ≥ n), last position's logits only;
 *            tokens/s = n / wall time, median over reps after one warm-up
 *   decode   b sequences prefilled together, then `steps` greedy decode steps that each advance
 *            all b sequences by one token in one batch; tokens/s = b·steps / wall time of the
 *            steps, median over reps after 3 warm-up reps
 *
 * Contexts use an f32 KV cache and no flash attention (its f16 default differs from exact math
 * by ~3e-3), CPU only, exactly `threads` threads.
 *
 * The same sessions make llama.cpp an independent oracle for Duet's correctness: its greedy
 * continuation and its raw logits for given prompt ids, on a GGUF converted from the same weights.
 */
import { getCpuLlama, type LlamaContext, type LlamaModel, type LlamaSequence, type Token } from './install.ts';

export interface LlamaCppSession {
  model: LlamaModel;
  context: LlamaContext;
  sequences: LlamaSequence[];
  dispose(): Promise<void>;
}

export interface SessionOptions {
  threads: number;
  /** Parallel sequences in the context (default 1). */
  sequences?: number;
  /** Tokens each sequence holds (the KV cache holds sequences × this, rounded up to 256). */
  contextSize: number;
  /** Tokens per forward pass (default 512). */
  batchSize?: number;
}

/** Load a GGUF and open one context with `sequences` sequences. */
export async function openLlamaCpp(ggufPath: string, o: SessionOptions): Promise<LlamaCppSession> {
  const llama = await getCpuLlama();
  const model = await llama.loadModel({ modelPath: ggufPath, gpuLayers: 0 });
  try {
    const n = o.sequences ?? 1;
    const context = await model.createContext({
      contextSize: o.contextSize,
      batchSize: o.batchSize ?? 512,
      sequences: n,
      threads: o.threads,
      flashAttention: false,
      experimentalKvCacheKeyType: 'F32',
      experimentalKvCacheValueType: 'F32',
    });
    const sequences = Array.from({ length: n }, () => context.getSequence());
    const dispose = async (): Promise<void> => {
      sequences.forEach((s) => s.dispose());
      await context.dispose();
      await model.dispose();
    };
    return { model, context, sequences, dispose };
  } catch (err) {
    await model.dispose();
    throw err;
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Prefill tokens/s of `prompt` (one forward pass; logits of the last position only). */
export async function timePrefill(session: LlamaCppSession, prompt: readonly Token[], reps: number): Promise<number> {
  const seq = session.sequences[0];
  const last = prompt.length - 1;
  const input = prompt.map((t, i): Token | [Token, { generateNext: { token: boolean } }] => (i === last ? [t, { generateNext: { token: true } }] : t));
  const rates: number[] = [];
  for (let r = 0; r <= reps; r++) {
    await seq.clearHistory();
    const t0 = performance.now();
    await seq.controlledEvaluate(input);
    if (r > 0) rates.push(prompt.length / ((performance.now() - t0) / 1000)); // rep 0 warms up
  }
  return median(rates);
}

/** `steps` greedy tokens after feeding `tokens`; one llama_decode per step per batch of sequences. */
async function generate(seq: LlamaSequence, tokens: Token[], steps: number): Promise<Token[]> {
  const out: Token[] = [];
  for await (const t of seq.evaluate(tokens, { temperature: 0 })) {
    out.push(t);
    if (out.length === steps) break;
  }
  return out;
}

/** Untimed decode repetitions first, as bench/measure.ts does for Duet (its DECODE_WARMUP_REPS). */
const DECODE_WARMUP_REPS = 3;

/**
 * Decode tokens/s of `prompts.length` sequences together. All but each prompt's last token are
 * prefilled first (untimed); the timed part feeds the last prompt token and runs `steps` steps,
 * each one decode of b tokens, as Duet's engine.step() does.
 */
export async function timeDecode(session: LlamaCppSession, prompts: readonly (readonly Token[])[], reps: number, steps = 16): Promise<number> {
  const seqs = session.sequences.slice(0, prompts.length);
  if (seqs.length < prompts.length) throw new Error(`timeDecode: ${prompts.length} prompts, context has ${session.sequences.length} sequences`);
  const rates: number[] = [];
  for (let r = 0; r < DECODE_WARMUP_REPS + reps; r++) {
    await Promise.all(seqs.map((s) => s.clearHistory()));
    await Promise.all(seqs.map((s, i) => s.evaluateWithoutGeneratingNewTokens(prompts[i].slice(0, -1))));
    const t0 = performance.now();
    const outs = await Promise.all(seqs.map((s, i) => generate(s, [prompts[i][prompts[i].length - 1]], steps)));
    const tokens = outs.reduce((a, o) => a + o.length, 0);
    if (r >= DECODE_WARMUP_REPS) rates.push(tokens / ((performance.now() - t0) / 1000));
  }
  return median(rates);
}

export interface MeasureLlamaCppOptions {
  threads: number;
  /** The prefill prompt (512 tokens for `llamacpp_prefill_tps_512`). */
  prompt512: readonly Token[];
  /** At least 8 decode prompts: batch 1 uses the first, batch 8 the first eight. */
  decodePrompts: readonly (readonly Token[])[];
  /** Timed repetitions after the warm-up (default 3). */
  reps?: number;
  /** Decode steps per repetition (default 16, as bench/measure.ts). */
  steps?: number;
}

export interface LlamaCppMeasurement {
  threads: number;
  llamacpp_prefill_tps_512: number;
  llamacpp_decode_tps_b1: number;
  llamacpp_decode_tps_b8: number;
}

/** The three llama.cpp figures of `bench:engine --vs-llamacpp` for one GGUF. */
export async function measureLlamaCpp(ggufPath: string, o: MeasureLlamaCppOptions): Promise<LlamaCppMeasurement> {
  const reps = o.reps ?? 3;
  const steps = o.steps ?? 16;
  if (o.decodePrompts.length < 8) throw new Error(`measureLlamaCpp: needs 8 decode prompts, got ${o.decodePrompts.length}`);
  const n = o.prompt512.length;
  const pre = await openLlamaCpp(ggufPath, { threads: o.threads, contextSize: n + 16, batchSize: Math.max(512, n) });
  let prefill: number;
  try {
    prefill = await timePrefill(pre, o.prompt512, reps);
  } finally {
    await pre.dispose();
  }
  const decode: number[] = [];
  for (const b of [1, 8]) {
    const prompts = o.decodePrompts.slice(0, b);
    const perSeq = Math.max(...prompts.map((p) => p.length)) + steps + 4;
    const s = await openLlamaCpp(ggufPath, { threads: o.threads, sequences: b, contextSize: perSeq });
    try {
      decode.push(await timeDecode(s, prompts, reps, steps));
    } finally {
      await s.dispose();
    }
  }
  return { threads: o.threads, llamacpp_prefill_tps_512: prefill, llamacpp_decode_tps_b1: decode[0], llamacpp_decode_tps_b8: decode[1] };
}

// ---- oracle -------------------------------------------------------------------------------

export interface OracleOptions {
  /** CPU threads (default 1: thread count changes float summation order, not the math). */
  threads?: number;
}

/**
 * The first `n` tokens llama.cpp's own greedy sampler (temperature 0) generates after
 * `promptIds`; it does not stop at EOS. ids [T] → [n]
 */
export async function llamaCppGreedy(ggufPath: string, promptIds: readonly Token[], n: number, o: OracleOptions = {}): Promise<Token[]> {
  const s = await openLlamaCpp(ggufPath, { threads: o.threads ?? 1, contextSize: promptIds.length + n + 1, batchSize: Math.max(512, promptIds.length) });
  try {
    const out: Token[] = [];
    if (n <= 0) return out;
    for await (const t of s.sequences[0].evaluate([...promptIds], { temperature: 0 })) {
      out.push(t);
      if (out.length === n) break;
    }
    return out;
  } finally {
    await s.dispose();
  }
}

/** A logits Map (token → logit) as a dense [V] row. */
function denseRow(logits: Map<Token, number>, vocabSize: number): Float32Array {
  const row = new Float32Array(vocabSize).fill(Number.NaN);
  for (const [id, v] of logits) row[id] = v;
  return row;
}

/**
 * Raw logits at every position of `ids` evaluated in one pass from an empty cache
 * (`sequence.controlledEvaluate`): row t predicts token t+1. ids [T] → [T][V]
 */
export async function llamaCppLogits(ggufPath: string, ids: readonly Token[], vocabSize: number, o: OracleOptions = {}): Promise<Float32Array[]> {
  const s = await openLlamaCpp(ggufPath, { threads: o.threads ?? 1, contextSize: ids.length + 1, batchSize: Math.max(512, ids.length) });
  try {
    const res = await s.sequences[0].controlledEvaluate(ids.map((t): [Token, { generateNext: { logits: boolean } }] => [t, { generateNext: { logits: true } }]));
    return ids.map((_, i) => {
      const logits = res[i]?.next.logits;
      if (!logits) throw new Error(`llamaCppLogits: no logits returned for position ${i}`);
      return denseRow(logits, vocabSize);
    });
  } finally {
    await s.dispose();
  }
}
