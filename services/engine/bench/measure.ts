/** Timing loops behind `bench:engine`: prefill of one long prompt, and steady-state decode of a batch. */
import { Engine } from '../src/engine.ts';
import type { LoadedModel } from '../src/model/types.ts';
import type { BackendName } from '../src/tfjs/backend.ts';
import { domainPromptIds, tokenDomains } from '../src/model/index.ts';
import { TOKEN_DOMAINS } from '../src/model/vocab.ts';

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
export async function measurePrefill(model: LoadedModel, backend: BackendName, n: number, reps: number): Promise<{ tps: number; threads: number }> {
  const engine = await Engine.create(model, { backend, enablePrefixCaching: false, maxBatchTokens: n, numKvBlocks: Math.ceil((n + 16) / 16) + 4 });
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
export async function measureDecode(model: LoadedModel, backend: BackendName, prompts: number[][], reps: number, steps = 16): Promise<{ tps: number }> {
  const b = prompts.length;
  const maxTokens = steps + 4;
  const tokensPerSeq = Math.max(...prompts.map((p) => p.length)) + maxTokens;
  const engine = await Engine.create(model, {
    backend,
    maxRunningSeqs: b,
    maxBatchTokens: Math.max(512, b),
    numKvBlocks: b * Math.ceil(tokensPerSeq / 16) + 4,
  });
  const rates: number[] = [];
  for (let r = 0; r <= reps; r++) {
    const ids = prompts.map((p, i) => {
      engine.addRequest({ id: `r${r}-${i}`, promptIds: p, sampling: { temperature: 0, maxTokens }, ignoreEos: true });
      return `r${r}-${i}`;
    });
    const started = new Set<string>();
    while (started.size < b) for (const o of engine.step().outputs) started.add(o.id); // prefill all
    let tokens = 0;
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) tokens += engine.step().outputs.length;
    const rate = tokens / ((performance.now() - t0) / 1000);
    if (r > 0) rates.push(rate); // rep 0 warms up
    ids.forEach((id) => engine.abort(id));
  }
  engine.dispose();
  return { tps: median(rates) };
}

/** b prompts of 32 tokens from one token domain ('same') or cycling through all four ('mixed'). */
export function moeDomainPrompts(model: LoadedModel, b: number, kind: 'same' | 'mixed'): number[][] {
  const domains = tokenDomains(model.config.vocabSize);
  return Array.from({ length: b }, (_, i) => {
    const d = kind === 'same' ? TOKEN_DOMAINS[0].name : TOKEN_DOMAINS[i % TOKEN_DOMAINS.length].name;
    return domainPromptIds(domains, d, 32, 1000 + i);
  });
}
