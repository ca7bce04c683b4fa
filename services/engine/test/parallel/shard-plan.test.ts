/** How a model is cut into tensor-parallel shards, and how many threads an engine asks for. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planShards, sliceWeights, splitRange } from '../../src/tfjs/shard-plan.ts';
import { AUTO_MAX_THREADS, effectiveThreads, weightBytesPerToken } from '../../src/engine-options.ts';
import { MODEL_PRESETS } from '../../src/model/presets.ts';
import { makeRandomModel, defaultConfig } from '../reference/fixtures.ts';

test('splitRange balances sizes to within one and covers the range in order', () => {
  assert.deepEqual([0, 1, 2].map((i) => splitRange(64, 3, i)), [{ from: 0, to: 22 }, { from: 22, to: 43 }, { from: 43, to: 64 }]);
  assert.deepEqual([0, 1].map((i) => splitRange(8, 2, i)), [{ from: 0, to: 4 }, { from: 4, to: 8 }]);
});

test('planShards gives each shard whole kv heads with their query heads, and caps the count', () => {
  const c = defaultConfig({ arch: 'llama', numHeads: 6, numKvHeads: 3 }); // G = 2
  const s = planShards(c, 2);
  assert.equal(s.length, 2);
  assert.deepEqual(s.map((x) => [x.kvHeads, x.heads]), [
    [{ from: 0, to: 2 }, { from: 0, to: 4 }],
    [{ from: 2, to: 3 }, { from: 4, to: 6 }],
  ]);
  assert.deepEqual(s.map((x) => x.intermediate), [{ from: 0, to: 24 }, { from: 24, to: 48 }]);
  assert.equal(planShards(c, 8).length, 3, 'no more shards than kv heads');
  assert.equal(planShards(c, 1)[0].vocab.to, c.vocabSize);
  assert.throws(() => planShards(c, 0), /threads must be a positive integer/);
});

test('sliceWeights cuts q/k/v rows, o and down columns, gate/up and LM head rows', () => {
  const { config, weights } = makeRandomModel({ arch: 'llama', numHeads: 6, numKvHeads: 3 }, 5);
  const [, s1] = planShards(config, 2);
  const w = sliceWeights(config, weights, s1);
  const l = w.layers[0], src = weights.layers[0];
  const D = config.headDim, E = config.hiddenSize;
  assert.deepEqual(l.q.shape, [2 * D, E]);
  assert.deepEqual(l.q.data, src.q.data.slice(4 * D * E, 6 * D * E));
  assert.deepEqual(l.k.data, src.k.data.slice(2 * D * E, 3 * D * E));
  assert.deepEqual(l.o.shape, [E, 2 * D]);
  assert.equal(l.o.data[E * 2 * D - 1], src.o.data[E * 6 * D - 1], 'last column of the last row');
  assert.deepEqual(l.mlp!.down.shape, [E, 24]);
  assert.equal(l.mlp!.down.data[0], src.mlp!.down.data[24]);
  assert.deepEqual(w.lmHead.data, weights.lmHead.data.slice(s1.vocab.from * E, s1.vocab.to * E));
  assert.equal(sliceWeights(config, weights, planShards(config, 1)[0]).layers[0].q, src.q, 'one shard keeps the model tensors');
});

test('threads: auto is one thread for small models, else the cores up to a cap; tensorflow always one', () => {
  const bench = { ...defaultConfig({ arch: 'llama' }), ...MODEL_PRESETS.llama.bench, headDim: 64, moe: null };
  assert.equal(weightBytesPerToken(bench), 174_587_904); // 8 × (qkv + o + 3 MLP matrices) + LM head, f32
  assert.equal(effectiveThreads({ threads: 'auto', backend: 'wasm' }, bench, 2), 2);
  assert.equal(effectiveThreads({ threads: 'auto', backend: 'wasm' }, bench, 64), AUTO_MAX_THREADS);
  assert.equal(effectiveThreads({ threads: 'auto', backend: 'tensorflow' }, bench, 8), 1);
  assert.equal(effectiveThreads({ threads: 4, backend: 'tensorflow' }, bench, 8), 1, 'libtensorflow has its own pool');
  assert.equal(effectiveThreads({ threads: 'auto', backend: 'wasm' }, defaultConfig({ arch: 'llama' }), 8), 1);
  assert.equal(effectiveThreads({ threads: 3, backend: 'wasm' }, defaultConfig({ arch: 'llama' }), 1), 3);
});
