/**
 * llama.cpp as an independent oracle on the same weights: the tiny Llama and tiny MoE are
 * converted to GGUF and run through node-llama-cpp (f32 KV cache). Its greedy tokens must equal
 * the f64 reference's and Duet's engine's, its logits the reference's within LOGIT_TOL, and its
 * tokenizer must split text as ours does (checks the "gpt-2" pre-tokenizer choice).
 *
 * Opt-in: DUET_LLAMACPP=1, because the first run installs node-llama-cpp (~725 MB) into
 * .cache/llamacpp. Without it every test here is skipped.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModel } from '../../src/model/create.ts';
import { loadModel } from '../../src/model/loader.ts';
import { domainPromptIds, tokenDomains } from '../../src/model/domains.ts';
import type { LoadedModel } from '../../src/model/types.ts';
import { Engine } from '../../src/engine.ts';
import { loadTokenizer } from '../../src/tokenizer/index.ts';
import { referenceForward, referenceGreedy } from '../reference/reference-model.ts';
import { convertToGguf, ensureLlamaCpp, llamaCppGreedy, llamaCppLogits, openLlamaCpp } from '../../bench/llamacpp/index.ts';

const SKIP = process.env.DUET_LLAMACPP === '1' ? false : 'opt-in: set DUET_LLAMACPP=1 (installs node-llama-cpp, ~725 MB, into .cache/llamacpp)';
/**
 * f32 llama.cpp vs the f64 reference: measured ~1.5e-6 on the tiny presets, while a GGUF without
 * the q/k permutation is off by ~1e-2, so the margin separates right from wrong both ways.
 */
const LOGIT_TOL = 1e-4;
/** Duet's logprobs vs llama.cpp's (engine's own tolerance vs the reference is 2e-4). */
const LOGPROB_TOL = 1e-3;
const NEW_TOKENS = 16;

const temps: string[] = [];
after(() => Promise.all(temps.map((d) => rm(d, { recursive: true, force: true }))));

interface Fixture {
  model: LoadedModel;
  gguf: string;
  prompts: number[][];
}

async function fixture(arch: 'llama' | 'moe'): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), `duet-llamacpp-${arch}-`));
  temps.push(dir);
  await createModel({ arch, preset: 'tiny', seed: 0, outDir: join(dir, 'hf') });
  await convertToGguf(join(dir, 'hf'), join(dir, 'model.gguf'));
  const model = await loadModel(join(dir, 'hf'));
  const V = model.config.vocabSize;
  const bos = model.config.bosTokenId!;
  const domains = tokenDomains(V);
  // A BOS + math-domain prompt, a BOS + biology one, and ids spread over the whole vocabulary.
  const prompts = [
    [bos, ...domainPromptIds(domains, 'math', 20, 1)],
    [bos, ...domainPromptIds(domains, 'biology', 9, 2)],
    Array.from({ length: 33 }, (_, i) => (i * 7919 + 13) % V),
  ];
  return { model, gguf: join(dir, 'model.gguf'), prompts };
}

function logSoftmax(x: Float32Array): Float64Array {
  const max = x.reduce((m, v) => Math.max(m, v), -Infinity);
  const lse = max + Math.log(x.reduce((s, v) => s + Math.exp(v - max), 0));
  return Float64Array.from(x, (v) => v - lse);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const arch of ['llama', 'moe'] as const) {
  describe(`llama.cpp oracle, tiny ${arch}`, { skip: SKIP }, () => {
    let f: Fixture;
    before(async () => {
      await ensureLlamaCpp();
      f = await fixture(arch);
    });

    test('greedy tokens equal the reference and the Duet engine; Duet logprobs match llama.cpp', async () => {
      const engine = await Engine.create(f.model, { numKvBlocks: 64, blockSize: 16 });
      try {
        for (const [i, prompt] of f.prompts.entries()) {
          const lc = await llamaCppGreedy(f.gguf, prompt, NEW_TOKENS);
          const ref = referenceGreedy(f.model.config, f.model.weights, prompt, NEW_TOKENS);
          const sampling = { temperature: 0, maxTokens: NEW_TOKENS, logprobs: 5 };
          const out = engine.generate({ id: `p${i}`, promptIds: prompt, sampling, ignoreEos: true }).newTokens;
          assert.deepEqual(lc, ref, `prompt ${i}: llama.cpp vs reference`);
          assert.deepEqual(out.map((t) => t.id), lc, `prompt ${i}: Duet engine vs llama.cpp`);
          // Row prompt.length-1+j of llama.cpp's logits predicts output token j.
          const rows = await llamaCppLogits(f.gguf, [...prompt, ...lc.slice(0, -1)], f.model.config.vocabSize);
          out.forEach((t, j) => {
            const lp = logSoftmax(rows[prompt.length - 1 + j]);
            for (const alt of t.top!) assert.ok(Math.abs(alt.logprob - lp[alt.id]) <= LOGPROB_TOL, `prompt ${i} token ${j} alt ${alt.id}`);
          });
        }
      } finally {
        engine.dispose();
      }
    });

    test(`logits at every position are within ${LOGIT_TOL} of the reference`, async () => {
      for (const [i, prompt] of f.prompts.entries()) {
        const lc = await llamaCppLogits(f.gguf, prompt, f.model.config.vocabSize);
        const ref = referenceForward(f.model.config, f.model.weights, prompt, { returnAllLogits: true }).logits;
        const d = Math.max(...lc.map((row, t) => maxAbsDiff(row, ref[t])));
        assert.ok(d <= LOGIT_TOL, `prompt ${i}: max |Δlogit| = ${d.toExponential(2)}`);
      }
    });

    test('llama.cpp tokenizes text as our tokenizer.json does', async () => {
      const tok = await loadTokenizer(f.model.dir);
      const s = await openLlamaCpp(f.gguf, { threads: 1, contextSize: 64 });
      try {
        const texts = ['the matrix theorem: tensor vector!', ' compile  the   kernel\n\nqueue 12345 x', "it's a lawsuit's witness, don't", 'ribosome\t dna   '];
        for (const text of texts) assert.deepEqual(s.model.tokenize(text), tok.encode(text, { addSpecialTokens: false }), JSON.stringify(text));
      } finally {
        await s.dispose();
      }
    });
  });
}
