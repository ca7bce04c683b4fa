/**
 * ModelRunner against the reference forward pass: full-prompt logits, incremental decode and chunked
 * prefill, for a dense and a MoE model. The runner writes into a real PagedKvStore through a
 * hand-made block table, so the paged layout is exercised without the scheduler.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PagedKvStore } from '../../src/cache/kv-store.ts';
import { initBackend } from '../../src/tfjs/backend.ts';
import { ModelRunner } from '../../src/tfjs/model-runner.ts';
import { MATMUL_KINDS, type MatmulKind } from '../../src/tfjs/device-weights.ts';
import { referenceForward } from '../reference/reference-model.ts';
import { ARCHS, assertClose, LOGIT_TOL, promptOf, randomLoaded } from './helpers.ts';

const BLOCK = 4;

function runnerFor(spec: (typeof ARCHS)[number], matmul: MatmulKind) {
  const model = randomLoaded(spec);
  const c = model.config;
  const store = new PagedKvStore({ numLayers: c.numLayers, numBlocks: 32, blockSize: BLOCK, numKvHeads: c.numKvHeads, headDim: c.headDim });
  return { model, runner: new ModelRunner(c, model.weights, store, matmul) };
}

/** A scrambled block table, so positions never map to blocks in order. */
const TABLE = [9, 2, 17, 5, 30, 0, 12, 21, 3, 8];

for (const [spec, matmul] of ARCHS.flatMap((s) => MATMUL_KINDS.map((m) => [s, m] as const))) {
  describe(`forward (${spec.arch}, matmul ${matmul})`, async () => {
    await initBackend('wasm');
    const { model, runner } = runnerFor(spec, matmul);
    after(() => runner.dispose());
    const prompt = promptOf(23, model.config.vocabSize);
    const ref = referenceForward(model.config, model.weights, prompt, { returnAllLogits: true });

    test('full prompt in one pass matches the reference', () => {
      const out = runner.forward([{ tokenIds: prompt, start: 0, blockTable: TABLE, wantLogits: true }]);
      assertClose(out.logits[0], ref.logits[prompt.length - 1], LOGIT_TOL, 'last logits');
      if (spec.arch === 'moe') {
        // Every token goes to exactly topK experts in every layer.
        assert.deepEqual(out.expertCounts, ref.expertCounts);
      }
    });

    test('incremental decode: one token per pass, logits at every position', () => {
      for (let p = 0; p < prompt.length; p++) {
        const out = runner.forward([{ tokenIds: [prompt[p]], start: p, blockTable: TABLE, wantLogits: true }]);
        assertClose(out.logits[0], ref.logits[p], LOGIT_TOL, `position ${p}`);
      }
    });

    for (const chunk of [3, 4, 7, 16]) {
      test(`chunked prefill with chunks of ${chunk}`, () => {
        let last: Float32Array | undefined;
        for (let s = 0; s < prompt.length; s += chunk) {
          const ids = prompt.slice(s, s + chunk);
          const out = runner.forward([{ tokenIds: ids, start: s, blockTable: TABLE, wantLogits: true }]);
          assertClose(out.logits[0], ref.logits[s + ids.length - 1], LOGIT_TOL, `chunk ending at ${s + ids.length - 1}`);
          last = out.logits[0];
        }
        assert.ok(last);
      });
    }

    test('a batch of mixed lengths equals each sequence alone', () => {
      const prompts = [promptOf(5, model.config.vocabSize, 2), promptOf(13, model.config.vocabSize, 3), promptOf(1, model.config.vocabSize, 4)];
      const tables = [[1, 4], [6, 7, 10, 11], [13]];
      const out = runner.forward(prompts.map((p, i) => ({ tokenIds: p, start: 0, blockTable: tables[i], wantLogits: true })));
      prompts.forEach((p, i) => {
        const alone = referenceForward(model.config, model.weights, p);
        assertClose(out.logits[i], alone.logits[0], LOGIT_TOL, `sequence ${i}`);
      });
    });
  });
}
