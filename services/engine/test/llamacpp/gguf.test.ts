/**
 * The GGUF writer and the HF → GGUF conversion, read back with an independent reader
 * (gguf-reader.ts). Fast: toy tensors and the tiny presets only; no llama.cpp needed.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gguf, writeGguf, type GgufMetadata } from '../../bench/llamacpp/gguf-writer.ts';
import { convertToGguf, permuteQk } from '../../bench/llamacpp/convert.ts';
import { createModel } from '../../src/model/create.ts';
import { loadModel } from '../../src/model/loader.ts';
import { rope } from '../reference/reference-ops.ts';
import { readGguf } from './gguf-reader.ts';

const temps: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'duet-gguf-'));
  temps.push(d);
  return d;
}
after(() => Promise.all(temps.map((d) => rm(d, { recursive: true, force: true }))));

const seq = (n: number, from = 0): Float32Array => Float32Array.from({ length: n }, (_, i) => from + i);

test('writer: header, every value type, tensor infos with reversed shape, 32-byte aligned data', async () => {
  const meta: GgufMetadata = new Map([
    ['general.architecture', gguf.str('llama')],
    ['a.u32', gguf.u32(7)],
    ['a.f32', gguf.f32(1e-5)],
    ['a.bool', gguf.bool(true)],
    ['a.strings', gguf.strings(['Ġx', 'é', ''])],
    ['a.i32s', gguf.i32s([1, -3, 5])],
  ]);
  // 15 and 7 floats: 60 and 28 bytes, so both need padding to 64 and 32.
  const tensors = [
    { name: 'w', shape: [3, 5], data: seq(15) },
    { name: 'b', shape: [7], data: seq(7, 100) },
  ];
  const path = join(await tempDir(), 'toy.gguf');
  const size = await writeGguf(path, meta, tensors);
  const buf = await readFile(path);
  assert.equal(buf.length, size);
  const r = readGguf(buf);
  assert.equal(r.version, 3);
  assert.deepEqual([...r.metadata.keys()], [...meta.keys()]);
  assert.deepEqual(r.metadata.get('a.u32'), { type: 4, value: 7 });
  assert.equal(r.metadata.get('a.f32')!.type, 6);
  assert.ok(Math.abs((r.metadata.get('a.f32')!.value as number) - 1e-5) < 1e-12);
  assert.deepEqual(r.metadata.get('a.bool'), { type: 7, value: true });
  assert.deepEqual(r.metadata.get('a.strings'), { type: 9, value: ['Ġx', 'é', ''] });
  assert.deepEqual(r.metadata.get('a.i32s'), { type: 9, value: [1, -3, 5] });
  // ne is innermost first: a [3, 5] row-major tensor has ne [5, 3]. Type 0 = F32.
  assert.deepEqual(r.tensors, [
    { name: 'w', ne: [5, 3], type: 0, offset: 0 },
    { name: 'b', ne: [7], type: 0, offset: 64 },
  ]);
  assert.equal(r.dataStart % 32, 0);
  assert.equal(buf.length, r.dataStart + 64 + 32); // last tensor padded too
  assert.deepEqual(r.f32('w'), tensors[0].data);
  assert.deepEqual(r.f32('b'), tensors[1].data);
});

test('permuteQk: rows [heads, 2, D/2] → [heads, D/2, 2] (toy: 2 heads, D = 4)', () => {
  // Row r holds the value r (one column), so the output lists which HF row lands where.
  const out = permuteQk({ shape: [8, 1], data: seq(8) }, 2);
  assert.deepEqual([...out], [0, 2, 1, 3, 4, 6, 5, 7]);
});

/** llama.cpp "normal" RoPE: adjacent pairs (x_2i, x_2i+1) turn by pos · θ^(-2i/D). */
function ropeAdjacent(x: Float64Array, d: number, pos: number, theta: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let base = 0; base < x.length; base += d) {
    for (let i = 0; i < d / 2; i++) {
      const a = pos * Math.pow(theta, (-2 * i) / d);
      const [x0, x1] = [x[base + 2 * i], x[base + 2 * i + 1]];
      out[base + 2 * i] = x0 * Math.cos(a) - x1 * Math.sin(a);
      out[base + 2 * i + 1] = x1 * Math.cos(a) + x0 * Math.sin(a);
    }
  }
  return out;
}

test('permuteQk: adjacent-pair RoPE of the permuted projection = permuted rotate-half RoPE of HF', () => {
  const heads = 3, d = 8, cols = 5;
  const w = { shape: [heads * d, cols], data: Float32Array.from({ length: heads * d * cols }, (_, i) => Math.sin(i * 1.7)) };
  const x = Float64Array.from({ length: cols }, (_, i) => Math.cos(i + 0.3));
  const project = (data: Float32Array): Float64Array =>
    Float64Array.from({ length: heads * d }, (_, r) => x.reduce((s, xi, c) => s + xi * data[r * cols + c], 0));
  const hf = rope(project(w.data), d, 11, 10000);
  const ours = ropeAdjacent(project(permuteQk(w, heads)), d, 11, 10000);
  const hfPermuted = permuteQk({ shape: [heads * d, 1], data: Float32Array.from(hf) }, heads);
  ours.forEach((v, i) => assert.ok(Math.abs(v - hfPermuted[i]) < 1e-5, `row ${i}`));
});

async function convertTiny(arch: 'llama' | 'moe'): Promise<{ r: ReturnType<typeof readGguf>; dir: string }> {
  const dir = await tempDir();
  await createModel({ arch, preset: 'tiny', seed: 3, outDir: join(dir, 'hf') });
  await convertToGguf(join(dir, 'hf'), join(dir, 'm.gguf'));
  return { r: readGguf(await readFile(join(dir, 'm.gguf'))), dir: join(dir, 'hf') };
}

const value = (r: ReturnType<typeof readGguf>, key: string): unknown => r.metadata.get(key)?.value;

test('convert tiny llama: llama metadata, full gpt2 vocabulary, tensor names and shapes, tied output', async () => {
  const { r, dir } = await convertTiny('llama');
  const m = await loadModel(dir);
  assert.equal(value(r, 'general.architecture'), 'llama');
  const expect: Record<string, number> = {
    'llama.block_count': 2, 'llama.context_length': 2048, 'llama.embedding_length': 64, 'llama.feed_forward_length': 160,
    'llama.attention.head_count': 4, 'llama.attention.head_count_kv': 2, 'llama.rope.dimension_count': 16, 'llama.vocab_size': 1024,
  };
  for (const [k, v] of Object.entries(expect)) assert.equal(value(r, k), v, k);
  assert.equal(value(r, 'llama.rope.freq_base'), 10000);
  assert.equal(value(r, 'tokenizer.ggml.model'), 'gpt2');
  assert.equal(value(r, 'tokenizer.ggml.pre'), 'gpt-2');
  const tokens = value(r, 'tokenizer.ggml.tokens') as string[];
  const types = value(r, 'tokenizer.ggml.token_type') as number[];
  assert.equal(tokens.length, 1024);
  assert.deepEqual([tokens[32], tokens[256], tokens[1019]], ['Ġ', 'Ġc', '<|begin_of_text|>']);
  assert.deepEqual([types[0], types[256], types[1019], types[1023]], [1, 1, 3, 3]); // NORMAL, CONTROL
  assert.ok((value(r, 'tokenizer.ggml.merges') as string[]).includes('Ġc o'));
  assert.equal(value(r, 'tokenizer.ggml.bos_token_id'), 1019);
  assert.equal(value(r, 'tokenizer.ggml.eos_token_id'), 1023); // tokenizer_config's <|eot_id|>
  const names = r.tensors.map((t) => t.name);
  assert.deepEqual(names.slice(0, 10), [
    'token_embd.weight', 'blk.0.attn_norm.weight', 'blk.0.attn_q.weight', 'blk.0.attn_k.weight', 'blk.0.attn_v.weight',
    'blk.0.attn_output.weight', 'blk.0.ffn_norm.weight', 'blk.0.ffn_gate.weight', 'blk.0.ffn_up.weight', 'blk.0.ffn_down.weight',
  ]);
  assert.equal(names.at(-1), 'output_norm.weight'); // tied: no output.weight
  assert.deepEqual(r.tensors.find((t) => t.name === 'blk.1.ffn_down.weight')!.ne, [160, 64]);
  r.tensors.forEach((t) => assert.equal(t.offset % 32, 0, t.name));
  assert.deepEqual(r.f32('blk.1.attn_k.weight'), permuteQk(m.weights.layers[1].k, 2));
  assert.deepEqual(r.f32('blk.1.attn_v.weight'), m.weights.layers[1].v.data);
});

test('convert tiny moe: expert metadata, router, experts stacked [X, I, E], untied output', async () => {
  const { r, dir } = await convertTiny('moe');
  const m = await loadModel(dir);
  assert.equal(value(r, 'llama.expert_count'), 4);
  assert.equal(value(r, 'llama.expert_used_count'), 2);
  assert.equal(value(r, 'llama.feed_forward_length'), 96);
  const ne = (n: string): number[] => r.tensors.find((t) => t.name === n)!.ne;
  assert.deepEqual(ne('blk.0.ffn_gate_inp.weight'), [64, 4]);
  assert.deepEqual(ne('blk.0.ffn_gate_exps.weight'), [64, 96, 4]);
  assert.deepEqual(ne('blk.0.ffn_up_exps.weight'), [64, 96, 4]);
  assert.deepEqual(ne('blk.0.ffn_down_exps.weight'), [96, 64, 4]);
  assert.deepEqual(ne('output.weight'), [64, 1024]);
  // Expert 2's w3 (up) is the third [I, E] slab of ffn_up_exps.
  const slab = 96 * 64;
  assert.deepEqual(r.f32('blk.1.ffn_up_exps.weight').subarray(2 * slab, 3 * slab), m.weights.layers[1].experts[2].up.data);
  assert.ok(!r.tensors.some((t) => t.name.includes('ffn_gate.weight')));
});
