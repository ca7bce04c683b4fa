/**
 * Tensor parallelism (threads > 1): the same logits as the reference with the model cut into 2 and 3
 * shards — uneven head, column and vocabulary splits, GQA, attention bias, MoE — through a shared
 * paged cache and a scrambled block table; the pass stays in lockstep after a failure; an engine on
 * several threads hands its KV to a single-threaded one; and worker threads never keep a process alive.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PagedKvStore } from '../../src/cache/kv-store.ts';
import { Engine } from '../../src/engine.ts';
import { initBackend } from '../../src/tfjs/backend.ts';
import { attendsOnHost } from '../../src/tfjs/attention.ts';
import { ModelRunner } from '../../src/tfjs/model-runner.ts';
import { ShardWorkerError } from '../../src/parallel/remote-shard.ts';
import { referenceForward, referenceGreedy } from '../reference/reference-model.ts';
import { assertClose, LOGIT_TOL, promptOf, randomLoaded } from '../engine/helpers.ts';
import type { RandomModelSpec } from '../reference/fixtures.ts';

const BLOCK = 4;
/** Scrambled block tables for two sequences (20 blocks = 80 positions each). */
const TABLE_A = [9, 2, 17, 5, 30, 0, 12, 21, 3, 8, 33, 14, 27, 1, 36, 19, 24, 6, 39, 11];
const TABLE_B = [4, 7, 10, 13, 15, 16, 18, 20, 22, 23, 25, 26, 28, 29, 31, 32, 34, 35, 37, 38];

/** 6 query heads on 3 kv heads: 2 threads split kv heads 2 + 1, 3 threads 1 + 1 + 1. */
const SPECS: readonly RandomModelSpec[] = [
  { arch: 'llama', numHeads: 6, numKvHeads: 3, attentionBias: true },
  { arch: 'moe', numHeads: 6, numKvHeads: 3 },
];

for (const spec of SPECS) {
  for (const [threads, matmul] of [[2, 'wasm-simd'], [3, 'wasm-simd'], [2, 'backend']] as const) {
    describe(`tensor parallel forward (${spec.arch}, ${threads} threads, matmul ${matmul})`, async () => {
      await initBackend('wasm');
      const model = randomLoaded(spec, 11);
      const c = model.config;
      const store = new PagedKvStore({ numLayers: c.numLayers, numBlocks: 40, blockSize: BLOCK, numKvHeads: c.numKvHeads, headDim: c.headDim }, { shared: true });
      // maxBatchTokens 8: most passes below are bigger, so the shared buffers must grow.
      const runner = await ModelRunner.create(c, model.weights, store, { threads, backend: 'wasm', matmul, maxBatchTokens: 8 });
      after(() => runner.dispose());
      const prompt = promptOf(70, c.vocabSize, 3);
      const ref = referenceForward(c, model.weights, prompt, { returnAllLogits: true });

      test('uses the threads asked for', () => assert.equal(runner.threads, threads));

      test('a 70-token prompt in one pass (attention on the backend) matches the reference', () => {
        assert.equal(attendsOnHost(70, 2, 0, c.headDim), false);
        const out = runner.forward([{ tokenIds: prompt, start: 0, blockTable: TABLE_A, wantLogits: true }]);
        assertClose(out.logits[0], ref.logits[69], LOGIT_TOL, 'last logits');
        if (c.moe) assert.deepEqual(out.expertCounts, ref.expertCounts);
      });

      test('incremental decode and chunked prefill match the reference at every position', () => {
        for (let p = 0; p < 12; p++) {
          const out = runner.forward([{ tokenIds: [prompt[p]], start: p, blockTable: TABLE_B, wantLogits: true }]);
          assertClose(out.logits[0], ref.logits[p], LOGIT_TOL, `decode position ${p}`);
        }
        for (let s = 12; s < 40; s += 7) {
          const ids = prompt.slice(s, s + 7);
          const out = runner.forward([{ tokenIds: ids, start: s, blockTable: TABLE_B, wantLogits: true }]);
          assertClose(out.logits[0], ref.logits[s + ids.length - 1], LOGIT_TOL, `chunk ending at ${s + ids.length - 1}`);
        }
      });

      test('a batch of mixed lengths equals each sequence alone', () => {
        const prompts = [promptOf(5, c.vocabSize, 2), promptOf(13, c.vocabSize, 3), promptOf(1, c.vocabSize, 4)];
        const tables = [TABLE_A.slice(0, 2), TABLE_B.slice(0, 4), TABLE_A.slice(5, 6)];
        const out = runner.forward(prompts.map((p, i) => ({ tokenIds: p, start: 0, blockTable: tables[i], wantLogits: true })));
        prompts.forEach((p, i) => assertClose(out.logits[i], referenceForward(c, model.weights, p).logits[0], LOGIT_TOL, `sequence ${i}`));
      });

      test('a pass that fails on the main thread (a hook throws) leaves the threads in step', () => {
        const ids = prompt.slice(0, 9);
        const chunk = [{ tokenIds: ids, start: 0, blockTable: TABLE_A, wantLogits: true }];
        assert.throws(() => runner.forward(chunk, { onLayerStored: (l) => { if (l === 1) throw new Error('hook failed'); } }), /hook failed/);
        assertClose(runner.forward(chunk).logits[0], ref.logits[8], LOGIT_TOL, 'next pass');
      });
    });
  }
}

test('a worker thread that dies makes every later pass throw ShardWorkerError', async () => {
  await initBackend('wasm');
  const model = randomLoaded({ arch: 'llama', numHeads: 6, numKvHeads: 3 }, 17);
  const c = model.config;
  const store = new PagedKvStore({ numLayers: c.numLayers, numBlocks: 8, blockSize: BLOCK, numKvHeads: c.numKvHeads, headDim: c.headDim }, { shared: true });
  const runner = await ModelRunner.create(c, model.weights, store, { threads: 2, backend: 'wasm', matmul: 'wasm-simd', maxBatchTokens: 8 });
  try {
    const chunk = [{ tokenIds: [5, 6, 7], start: 0, blockTable: [0, 1], wantLogits: true }];
    runner.forward(chunk);
    await runner['remotes'][0]['worker'].terminate(); // as if the thread crashed; resolves after its 'exit' event
    for (let i = 0; i < 2; i++) assert.throws(() => runner.forward(chunk), (e: Error) => e instanceof ShardWorkerError && /shard worker 1: exited/.test(e.message));
  } finally {
    runner.dispose();
  }
});

describe('an engine on 2 threads', () => {
  const model = randomLoaded({ arch: 'llama', numHeads: 6, numKvHeads: 3 }, 13);
  const prompt = promptOf(19, model.config.vocabSize, 5);

  test('reports its threads and generates the reference tokens', async () => {
    const engine = await Engine.create(model, { numKvBlocks: 32, blockSize: BLOCK, threads: 2 });
    try {
      assert.equal(engine.backend.threads, 2);
      const out = engine.generate({ id: 'g', promptIds: prompt, sampling: { temperature: 0, maxTokens: 8 }, ignoreEos: true });
      assert.deepEqual(out.newTokens.map((t) => t.id), referenceGreedy(model.config, model.weights, prompt, 8));
    } finally {
      engine.dispose();
    }
  });

  test('exports its KV layer by layer (while it computes) to a single-threaded engine that continues', async () => {
    const layers = model.config.numLayers;
    const chunks: { layer: number; k: Float32Array; v: Float32Array }[] = [];
    const src = await Engine.create(model, { numKvBlocks: 32, blockSize: BLOCK, threads: 2 }, {
      onLayerStored: (layer, spans) => chunks.push({ layer, ...src.exportKv(spans[0].id, layer, 0, spans[0].end) }),
    });
    const dst = await Engine.create(model, { numKvBlocks: 32, blockSize: BLOCK, threads: 1 });
    try {
      const first = src.generate({ id: 'x', promptIds: prompt, sampling: { temperature: 0, maxTokens: 1 }, ignoreEos: true, holdKv: true });
      assert.equal(chunks.length, layers);
      dst.beginImport({ id: 'x', promptIds: prompt, sampling: { temperature: 0, maxTokens: 6 }, ignoreEos: true, generated: [] });
      for (const ch of chunks) dst.importKv('x', ch.layer, 0, { k: ch.k, v: ch.v });
      dst.finishImport('x', first.newTokens);
      const rest: number[] = [];
      while (dst.hasWork()) for (const o of dst.step().outputs) rest.push(...o.newTokens.map((t) => t.id));
      assert.deepEqual([first.newTokens[0].id, ...rest], referenceGreedy(model.config, model.weights, prompt, 6));
    } finally {
      src.dispose();
      dst.dispose();
    }
  });

  test('a process that never disposes its 2-thread engine still exits', async () => {
    const engineUrl = new URL('../../src/engine.ts', import.meta.url).href;
    const fixturesUrl = new URL('../reference/fixtures.ts', import.meta.url).href;
    const script = `
      const { Engine } = await import(${JSON.stringify(engineUrl)});
      const { makeRandomModel } = await import(${JSON.stringify(fixturesUrl)});
      const { config, weights } = makeRandomModel({ arch: 'llama', numHeads: 6, numKvHeads: 3 }, 1);
      const engine = await Engine.create({ dir: '(memory)', config, weights, weightBytesOnDisk: 0 }, { numKvBlocks: 8, threads: 2 });
      engine.generate({ id: 'a', promptIds: [5, 6, 7], sampling: { temperature: 0, maxTokens: 2 }, ignoreEos: true });
      console.log('threads', engine.backend.threads);`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('.', import.meta.url)),
      timeout: 60_000,
    });
    assert.match(stdout, /threads 2/);
  });
});
