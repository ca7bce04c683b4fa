import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, stat, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModel, type CreateModelOptions } from '../../src/model/create.ts';
import { MODEL_PRESETS } from '../../src/model/presets.ts';

const temps: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'duet-create-'));
  temps.push(d);
  return d;
}
after(() => Promise.all(temps.map((d) => rm(d, { recursive: true, force: true }))));

async function make(o: Omit<CreateModelOptions, 'outDir'>): Promise<string> {
  const outDir = await tempDir();
  await createModel({ ...o, outDir });
  return outDir;
}

async function files(dir: string): Promise<Map<string, Buffer>> {
  const names = (await readdir(dir)).sort();
  return new Map(await Promise.all(names.map(async (n) => [n, await readFile(join(dir, n))] as const)));
}

test('same options → byte-identical folders; another seed changes only the weights', async () => {
  for (const arch of ['llama', 'moe'] as const) {
    const a = await files(await make({ arch, preset: 'tiny', seed: 42, dtype: 'f16' }));
    const b = await files(await make({ arch, preset: 'tiny', seed: 42, dtype: 'f16' }));
    assert.deepEqual([...a.keys()], ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    for (const [name, bytes] of a) assert.ok(bytes.equals(b.get(name)!), `${arch} ${name} differs between runs`);
    const c = await files(await make({ arch, preset: 'tiny', seed: 43, dtype: 'f16' }));
    assert.ok(!c.get('model.safetensors')!.equals(a.get('model.safetensors')!));
    assert.ok(c.get('tokenizer.json')!.equals(a.get('tokenizer.json')!));
  }
});

test('config.json is a real Llama / Mixtral config', async () => {
  const llama = JSON.parse(await readFile(join(await make({ arch: 'llama', preset: 'tiny', seed: 1 }), 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(llama.architectures, ['LlamaForCausalLM']);
  assert.equal(llama.model_type, 'llama');
  assert.equal(llama.torch_dtype, 'float32');
  const moeDir = await make({ arch: 'moe', preset: 'tiny', seed: 1, dtype: 'bf16' });
  const moe = JSON.parse(await readFile(join(moeDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(moe.architectures, ['MixtralForCausalLM']);
  assert.deepEqual([moe.model_type, moe.num_local_experts, moe.num_experts_per_tok, moe.intermediate_size, moe.torch_dtype], ['mixtral', 4, 2, 96, 'bfloat16']);
  // "A few MB at most".
  assert.ok((await stat(join(moeDir, 'model.safetensors'))).size < 2_000_000);
});

test('maxShardBytes writes shards + index, and a rerun removes stale weight files', async () => {
  const outDir = await tempDir();
  await createModel({ arch: 'llama', preset: 'tiny', seed: 1, outDir, maxShardBytes: 100_000 });
  const sharded = (await readdir(outDir)).filter((f) => f.startsWith('model'));
  assert.ok(sharded.includes('model.safetensors.index.json'));
  assert.ok(sharded.length > 3);
  await createModel({ arch: 'llama', preset: 'tiny', seed: 1, outDir });
  assert.deepEqual((await readdir(outDir)).filter((f) => f.startsWith('model')), ['model.safetensors']);
});

test('presets match the documented sizes', async () => {
  const count = (arch: 'llama' | 'moe', name: 'tiny' | 'small' | 'bench'): number => {
    const p = MODEL_PRESETS[arch][name];
    const e = p.hiddenSize;
    const d = e / p.numHeads;
    const attn = 2 * e * p.numHeads * d + 2 * e * p.numKvHeads * d;
    const mlp = p.moe ? p.moe.numExperts * (3 * e * p.moe.expertIntermediateSize + e) : 3 * e * p.intermediateSize;
    return p.vocabSize * e * (p.tieWordEmbeddings ? 1 : 2) + p.numLayers * (attn + mlp + 2 * e) + e;
  };
  const bench = count('llama', 'bench');
  assert.ok(bench > 55e6 && bench < 65e6, `bench llama has ${bench} params`);
  assert.ok(count('moe', 'tiny') < 500_000);
  assert.deepEqual(MODEL_PRESETS.moe.small.moe, { numExperts: 8, topK: 2, expertIntermediateSize: 384 });
  await assert.rejects(createModel({ arch: 'llama', preset: 'huge' as 'tiny', seed: 1, outDir: tmpdir() }), /unknown arch\/preset/);
});
