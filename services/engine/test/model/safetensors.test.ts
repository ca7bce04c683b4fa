import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeToF32, encodeF32, f32BitsToBf16, f32BitsToF16, type Dtype } from '../../src/model/dtype.ts';
import { openSafetensors, writeSafetensors, type NamedTensor } from '../../src/model/safetensors.ts';
import { INDEX_FILE, openCheckpoint, writeCheckpoint } from '../../src/model/checkpoint.ts';
import { ModelLoadError } from '../../src/model/errors.ts';
import { Rng } from '../../src/model/rng.ts';

const bitsOf = (x: number): number => new Uint32Array(Float32Array.of(x).buffer)[0];
const f16 = (x: number): number => f32BitsToF16(bitsOf(x));
const bf16 = (x: number): number => f32BitsToBf16(bitsOf(x));
const temps: string[] = [];
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'duet-st-'));
  temps.push(d);
  return d;
}
after(() => Promise.all(temps.map((d) => rm(d, { recursive: true, force: true }))));

test('f16 rounds to nearest even at every boundary', () => {
  assert.equal(f16(1), 0x3c00);
  assert.equal(f16(-0), 0x8000);
  assert.equal(f16(65504), 0x7bff); // max finite
  assert.equal(f16(65519), 0x7bff); // below the halfway point to 65536
  assert.equal(f16(65520), 0x7c00); // halfway, odd mantissa → rounds up to Inf
  assert.equal(f16(1e9), 0x7c00);
  assert.equal(f16(-Infinity), 0xfc00);
  assert.equal(f16(NaN) & 0x7c00, 0x7c00);
  assert.notEqual(f16(NaN) & 0x3ff, 0);
  assert.equal(f16(1 + 2 ** -11), 0x3c00); // tie → even (down)
  assert.equal(f16(1 + 3 * 2 ** -11), 0x3c02); // tie → even (up)
  assert.equal(f16(1 + 2 ** -11 + 2 ** -20), 0x3c01); // above the tie
  assert.equal(f16(2 ** -14), 0x0400); // min normal
  assert.equal(f16(2 ** -24), 0x0001); // min subnormal
  assert.equal(f16(2 ** -25), 0x0000); // tie with 0 → even (0)
  assert.equal(f16(1.5 * 2 ** -25), 0x0001);
  assert.equal(f16(3 * 2 ** -25), 0x0002); // tie between 1 and 2 subnormal ulps → 2
  assert.equal(f16(2 ** -14 - 2 ** -25), 0x0400); // largest subnormal tie carries into the exponent
});

test('bf16 rounds to nearest even', () => {
  assert.equal(bf16(1), 0x3f80);
  assert.equal(bf16(1 + 2 ** -8), 0x3f80); // tie → even (down)
  assert.equal(bf16(1 + 3 * 2 ** -8), 0x3f82); // tie → even (up)
  assert.equal(bf16(1 + 2 ** -8 + 2 ** -20), 0x3f81);
  assert.equal(bf16(-2), 0xc000);
  assert.equal(bf16(3.4028234663852886e38), 0x7f80); // f32 max rounds to Inf
  assert.equal(bf16(NaN) & 0x7f80, 0x7f80);
  assert.notEqual(bf16(NaN) & 0x7f, 0);
});

test('every finite 16-bit pattern survives decode → encode unchanged', () => {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  for (const dtype of ['F16', 'BF16'] as Dtype[]) {
    const values = decodeToF32(new Uint8Array(all.buffer), dtype);
    const back = new Uint16Array(encodeF32(values, dtype).buffer);
    for (let h = 0; h < 65536; h++) {
      if (Number.isNaN(values[h])) continue;
      assert.equal(back[h], h, `${dtype} pattern 0x${h.toString(16)}`);
    }
  }
});

test('header bytes match the reference serialisation', async () => {
  const dir = await tmp();
  const path = join(dir, 'a.safetensors');
  await writeSafetensors(path, [{ name: 'a', shape: [2], data: Float32Array.of(1, 2) }], { dtype: 'F32' });
  const bytes = await readFile(path);
  const n = Number(bytes.readBigUInt64LE(0));
  // The JSON is 54 bytes; two spaces pad it to 56 so the byte buffer starts 8-aligned.
  assert.equal(bytes.subarray(8, 8 + n).toString(), '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}  ');
  assert.equal(n % 8, 0);
  assert.deepEqual([...new Float32Array(bytes.buffer.slice(bytes.byteOffset + 8 + n, bytes.byteOffset + bytes.length))], [1, 2]);
});

function randomTensors(seed: number): NamedTensor[] {
  const rng = new Rng(seed);
  return [
    { name: 'w.b', shape: [3, 5], data: rng.normals(15, 3) },
    { name: 'w.a', shape: [7], data: rng.normals(7, 0.001) },
    { name: 'scalar', shape: [], data: Float32Array.of(0.1) },
    { name: 'empty', shape: [0, 4], data: new Float32Array(0) },
  ];
}

for (const dtype of ['F32', 'F16', 'BF16'] as Dtype[]) {
  test(`${dtype} file round trip equals the rounded values`, async () => {
    const dir = await tmp();
    const path = join(dir, 'm.safetensors');
    const tensors = randomTensors(1);
    await writeSafetensors(path, tensors, { dtype, metadata: { format: 'pt' } });
    const file = await openSafetensors(path);
    try {
      assert.deepEqual(file.metadata, { format: 'pt' });
      const header = JSON.parse((await readFile(path)).subarray(8, 8 + Number((await readFile(path)).readBigUInt64LE(0))).toString()) as Record<string, unknown>;
      assert.equal(Object.keys(header)[0], '__metadata__');
      for (const t of tensors) {
        const got = await file.read(t.name);
        assert.deepEqual(got.shape, t.shape);
        const want = decodeToF32(encodeF32(t.data, dtype).slice(), dtype);
        assert.deepEqual([...got.data], [...want]);
        assert.equal(file.tensors.get(t.name)!.dtype, dtype);
      }
    } finally {
      await file.close();
    }
  });
}

test('sharded write splits by size and reads back through the index', async () => {
  const dir = await tmp();
  const rng = new Rng(7);
  const tensors = Array.from({ length: 5 }, (_, i) => ({ name: `t${i}`, shape: [100], data: rng.normals(100, 1) }));
  // 400 bytes each as F32: a 900-byte limit holds two per shard → 3 shards.
  const files = await writeCheckpoint(dir, tensors, { dtype: 'F32', maxShardBytes: 900 });
  assert.deepEqual(files, ['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors', INDEX_FILE]);
  const index = JSON.parse(await readFile(join(dir, INDEX_FILE), 'utf8')) as { metadata: { total_size: number }; weight_map: Record<string, string> };
  assert.equal(index.metadata.total_size, 2000);
  assert.equal(index.weight_map.t4, 'model-00003-of-00003.safetensors');
  const ckpt = await openCheckpoint(dir);
  try {
    assert.equal(ckpt.dataBytes, 2000);
    for (const t of tensors) assert.deepEqual([...(await ckpt.read(t.name)).data], [...t.data]);
  } finally {
    await ckpt.close();
  }
  assert.deepEqual((await readdir(dir)).sort(), [...files].sort());
});

test('errors name the file and the tensor', async () => {
  const dir = await tmp();
  const path = join(dir, 'bad.safetensors');
  await writeFile(path, Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{oops')]));
  await assert.rejects(openSafetensors(path), (e: Error) => e instanceof ModelLoadError && e.message.includes(path));

  // A valid file whose one tensor is I64: listed, but reading it fails naming the tensor.
  const header = '{"ids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}';
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  const i64 = join(dir, 'i64.safetensors');
  await writeFile(i64, Buffer.concat([len, Buffer.from(header), Buffer.alloc(8)]));
  const file = await openSafetensors(i64);
  await assert.rejects(file.read('ids'), (e: Error) => e instanceof ModelLoadError && /"ids".*I64/.test(e.message));
  await assert.rejects(file.read('nope'), (e: Error) => e instanceof ModelLoadError && e.message.includes('"nope"'));
  await file.close();

  // A hole in the byte buffer violates the spec.
  const holed = '{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
  len.writeBigUInt64LE(BigInt(holed.length));
  await writeFile(path, Buffer.concat([len, Buffer.from(holed), Buffer.alloc(8)]));
  await assert.rejects(openSafetensors(path), (e: Error) => e instanceof ModelLoadError && e.message.includes('"x"'));
});
