/** Timing loops behind `bench:engine`: prefill of one long prompt, and steady-state decode of a batch. */
import { Engine } from '../src/engine.ts';
import type { LoadedModel } from '../src/model/types.ts';
import type { EngineOptionsInput } from '../src/engine-options.ts';
import { domainPromptIds, tokenDomains } from '../src/model/index.ts';
import { TOKEN_DOMAINS } from '../src/model/vocab.ts';

/** The engine options a benchmark varies: backend and threads. */
export type BenchOptions = Pick<EngineOptionsInput, 'backend' | 'threads' | 'matmul'>;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Weight bytes read to decode one token at f32 (the engine computes in f32 whatever the disk dtype):
 * every matrix and norm except the embedding table, of which only one row is read.
 */
export function readBytesPerToken(model: LoadedModel): number {
  const w = model.weights;
  const count = (t: { data: Float32Array } | null): number => (t ? t.data.length : 0);
  let floats = count(w.finalNorm) + count(w.lmHead) + model.config.hiddenSize;
  for (const l of w.layers) {
    floats += [l.inputNorm, l.q, l.k, l.v, l.o, l.qBias, l.kBias, l.vBias, l.postAttnNorm, l.router].reduce((a, t) => a + count(t), 0);
    for (const m of l.mlp ? [l.mlp, ...l.experts] : l.experts) floats += count(m.gate) + count(m.up) + count(m.down);
  }
  return floats * 4;
}

/** The r-th n-token prefill prompt (ids spread over the vocabulary, past the byte tokens). */
export function prefillPrompt(model: LoadedModel, n: number, r: number): number[] {
  const V = model.config.vocabSize;
  return Array.from({ length: n }, (_, i) => 300 + ((r * 31 + i * 7919) % (V - 300)));
}

/** Tokens per second prefilling an n-token prompt in one forward pass (prefix caching off). */
export async function measurePrefill(model: LoadedModel, options: BenchOptions, n: number, reps: number): Promise<{ tps: number; threads: number }> {
  const engine = await Engine.create(model, { ...options, enablePrefixCaching: false, maxBatchTokens: n, numKvBlocks: Math.ceil((n + 16) / 16) + 4 });
  const prompt = (r: number): number[] => prefillPrompt(model, n, r);
  engine.generate({ id: 'warmup', promptIds: prompt(99), sampling: { temperature: 0, maxTokens: 1 }, ignoreEos: true });
  const rates: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    engine.generate({ id: `p${r}`, promptIds: prompt(r), sampling: { temperature: 0, maxTokens: 1 }, ignoreEos: true });
    rates.push(n / ((performance.now() - t0) / 1000));
  }
  const threads = engine.backend.threads;
  engine.dispose();
  return { tps: median(rates), threads };
}

/**
 * Output tokens per second over `steps` decode steps once every prompt is prefilled: the batch is
 * all decodes, so each step runs prompts.length tokens. Greedy, EOS ignored.
 */
export async function measureDecode(model: LoadedModel, options: BenchOptions, prompts: number[][], reps: number, steps = 16): Promise<{ tps: number }> {
  return { tps: (await measureDecodeSets(model, options, [prompts], reps, steps))[0] };
}

/**
 * Untimed decode repetitions before the timed ones. A fresh engine's first ~50 steps run slower
 * (V8 still optimising the host loops, on every thread) — one 16-step repetition is not enough.
 * The llama.cpp harness warms up the same way (bench/llamacpp/runner.ts).
 */
export const DECODE_WARMUP_REPS = 3;

/**
 * measureDecode for several batches on one engine, alternating them within every repetition (after
 * DECODE_WARMUP_REPS untimed ones), so that a change in the machine's load hits each batch alike:
 * compare them within one call (e.g. MoE same-domain vs mixed-domain). Returns the median tokens/s
 * of each set.
 */
export async function measureDecodeSets(model: LoadedModel, options: BenchOptions, sets: number[][][], reps: number, steps = 16): Promise<number[]> {
  const b = Math.max(...sets.map((p) => p.length));
  const maxTokens = steps + 4;
  const tokensPerSeq = Math.max(...sets.flat().map((p) => p.length)) + maxTokens;
  const engine = await Engine.create(model, {
    ...options,
    maxRunningSeqs: b,
    maxBatchTokens: Math.max(512, b),
    numKvBlocks: b * Math.ceil(tokensPerSeq / 16) + 4,
  });
  const rates = sets.map((): number[] => []);
  for (let r = 0; r < DECODE_WARMUP_REPS + reps; r++) {
    sets.forEach((prompts, k) => {
      const ids = prompts.map((p, i) => {
        engine.addRequest({ id: `r${r}-${k}-${i}`, promptIds: p, sampling: { temperature: 0, maxTokens }, ignoreEos: true });
        return `r${r}-${k}-${i}`;
      });
      const started = new Set<string>();
      while (started.size < prompts.length) for (const o of engine.step().outputs) started.add(o.id); // prefill all
      let tokens = 0;
      const t0 = performance.now();
      for (let s = 0; s < steps; s++) tokens += engine.step().outputs.length;
      if (r >= DECODE_WARMUP_REPS) rates[k].push(tokens / ((performance.now() - t0) / 1000));
      ids.forEach((id) => engine.abort(id));
    });
  }
  engine.dispose();
  return rates.map(median);
}

/** b prompts of 32 tokens from one token domain ('same') or cycling through all four ('mixed'). */
export function moeDomainPrompts(model: LoadedModel, b: number, kind: 'same' | 'mixed'): number[][] {
  const domains = tokenDomains(model.config.vocabSize);
  return Array.from({ length: b }, (_, i) => {
    const d = kind === 'same' ? TOKEN_DOMAINS[0].name : TOKEN_DOMAINS[i % TOKEN_DOMAINS.length].name;
    return domainPromptIds(domains, d, 32, 1000 + i);
  });
}
