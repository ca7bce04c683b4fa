import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModel } from '../../src/model/create.ts';
import { loadModel } from '../../src/model/loader.ts';
import { ModelLoadError } from '../../src/model/errors.ts';
import { openSafetensors, writeSafetensors, type NamedTensor } from '../../src/model/safetensors.ts';
import type { ExpertWeights, LoadedModel } from '../../src/model/types.ts';

let root = '';
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'duet-load-'));
});
after(() => rm(root, { recursive: true, force: true }));

async function created(name: string, opts: { arch: 'llama' | 'moe'; dtype?: 'f32' | 'f16' | 'bf16'; maxShardBytes?: number }): Promise<string> {
  const outDir = join(root, name);
  await createModel({ preset: 'tiny', seed: 3, outDir, ...opts });
  return outDir;
}

function assertMlp(m: ExpertWeights, e: number, i: number): void {
  assert.deepEqual(m.gate.shape, [i, e]);
  assert.deepEqual(m.up.shape, [i, e]);
  assert.deepEqual(m.down.shape, [e, i]);
}

function assertShapes({ config: c, weights: w }: LoadedModel): void {
  const { hiddenSize: e, numHeads: h, numKvHeads: k, headDim: d, vocabSize: v } = c;
  assert.deepEqual(w.embed.shape, [v, e]);
  assert.deepEqual(w.lmHead.shape, [v, e]);
  assert.deepEqual(w.finalNorm.shape, [e]);
  assert.equal(w.layers.length, c.numLayers);
  for (const l of w.layers) {
    assert.deepEqual([l.inputNorm.shape, l.postAttnNorm.shape], [[e], [e]]);
    assert.deepEqual([l.q.shape, l.k.shape, l.v.shape, l.o.shape], [[h * d, e], [k * d, e], [k * d, e], [e, h * d]]);
    assert.deepEqual([l.qBias, l.kBias, l.vBias], [null, null, null]);
    for (const t of [l.q, l.inputNorm]) assert.equal(t.data.length, t.shape.reduce((a, b) => a * b, 1));
  }
}

test('tiny llama: config, every shape, tied lm_head is the embedding', async () => {
  const m = await loadModel(await created('llama', { arch: 'llama' }));
  assert.equal(m.config.modelType, 'llama');
  assert.deepEqual([m.config.vocabSize, m.config.hiddenSize, m.config.numLayers, m.config.numHeads, m.config.numKvHeads], [1024, 64, 2, 4, 2]);
  assert.equal(m.config.tieWordEmbeddings, true);
  assert.deepEqual(m.config.eosTokenIds, [1020, 1023]); // <|end_of_text|>, <|eot_id|>
  assert.equal(m.config.bosTokenId, 1019);
  assertShapes(m);
  assert.equal(m.weights.lmHead, m.weights.embed);
  for (const l of m.weights.layers) {
    assertMlp(l.mlp!, 64, 160);
    assert.deepEqual([l.router, l.experts.length], [null, 0]);
  }
  // Sum of tensor bytes, f32: (embed + per layer (attn + mlp + 2 norms)) + final norm.
  const perLayer = 64 * 64 * 2 + 32 * 64 * 2 + 3 * 160 * 64 + 2 * 64;
  assert.equal(m.weightBytesOnDisk, 4 * (1024 * 64 + 2 * perLayer + 64));
});

test('tiny moe: mixtral names map to router + experts, untied lm_head', async () => {
  const m = await loadModel(await created('moe', { arch: 'moe' }));
  assert.equal(m.config.modelType, 'mixtral');
  assert.deepEqual(m.config.moe, { numExperts: 4, topK: 2, normTopkProb: true, expertIntermediateSize: 96 });
  assertShapes(m);
  assert.notEqual(m.weights.lmHead, m.weights.embed);
  for (const l of m.weights.layers) {
    assert.equal(l.mlp, null);
    assert.deepEqual(l.router!.shape, [4, 64]);
    assert.equal(l.experts.length, 4);
    l.experts.forEach((x) => assertMlp(x, 64, 96));
  }
});

test('sharded and bf16 checkpoints load to the same (rounded) weights', async () => {
  const single = await loadModel(await created('moe', { arch: 'moe' }));
  const sharded = await loadModel(await created('sharded', { arch: 'moe', maxShardBytes: 200_000 }));
  assert.equal(sharded.weightBytesOnDisk, single.weightBytesOnDisk);
  assert.deepEqual(sharded.weights.layers[1].experts[3].down.data, single.weights.layers[1].experts[3].down.data);
  const half = await loadModel(await created('bf16', { arch: 'moe', dtype: 'bf16' }));
  assert.equal(half.weightBytesOnDisk * 2, single.weightBytesOnDisk);
  const a = single.weights.embed.data;
  const b = half.weights.embed.data;
  for (let i = 0; i < a.length; i += 97) assert.ok(Math.abs(a[i] - b[i]) <= Math.abs(a[i]) * 2 ** -8);
});

async function rewriteWithout(dir: string, drop: string, add: NamedTensor[] = []): Promise<void> {
  const path = join(dir, 'model.safetensors');
  const file = await openSafetensors(path);
  const kept: NamedTensor[] = [];
  for (const name of file.tensors.keys()) {
    if (name !== drop) kept.push({ name, ...(await file.read(name)) });
  }
  await file.close();
  await writeSafetensors(path, [...kept, ...add], { dtype: 'F32' });
}

test('a missing tensor fails naming the tensor', async () => {
  const dir = await created('missing', { arch: 'moe' });
  await rewriteWithout(dir, 'model.layers.1.block_sparse_moe.experts.2.w3.weight');
  await assert.rejects(loadModel(dir), (e: unknown) =>
    e instanceof ModelLoadError && e.tensor === 'model.layers.1.block_sparse_moe.experts.2.w3.weight' && e.message.includes('experts.2.w3'),
  );
});

test('a wrong shape, an unknown tensor and an untied model without lm_head all fail clearly', async () => {
  const dir = await created('bad', { arch: 'llama' });
  await rewriteWithout(dir, 'model.norm.weight', [{ name: 'model.norm.weight', shape: [65], data: new Float32Array(65) }]);
  await assert.rejects(loadModel(dir), (e: unknown) => e instanceof ModelLoadError && e.tensor === 'model.norm.weight' && /\[65\].*\[64\]/.test(e.message));

  await rewriteWithout(dir, 'model.norm.weight', [
    { name: 'model.norm.weight', shape: [64], data: new Float32Array(64) },
    { name: 'model.layers.0.self_attn.q_norm.weight', shape: [16], data: new Float32Array(16) },
  ]);
  await assert.rejects(loadModel(dir), (e: unknown) => e instanceof ModelLoadError && e.tensor === 'model.layers.0.self_attn.q_norm.weight');

  await rewriteWithout(dir, 'model.layers.0.self_attn.q_norm.weight');
  const cfgPath = join(dir, 'config.json');
  const cfg = JSON.parse(await readFile(cfgPath, 'utf8')) as Record<string, unknown>;
  await writeFile(cfgPath, JSON.stringify({ ...cfg, tie_word_embeddings: false }));
  await assert.rejects(loadModel(dir), (e: unknown) => e instanceof ModelLoadError && e.tensor === 'lm_head.weight');

  await rm(join(dir, 'model.safetensors'));
  await assert.rejects(loadModel(dir), (e: unknown) => e instanceof ModelLoadError && e.message.includes('model.safetensors'));
});
