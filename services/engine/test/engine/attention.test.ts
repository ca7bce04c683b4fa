/**
 * The two attention kernels (host loops over the paged cache, 2-D matMuls on the backend) against
 * the reference `attendOne`, on toy sizes with grouped-query heads, a scrambled block table and a
 * chunk that starts mid-context.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PagedKvStore } from '../../src/cache/kv-store.ts';
import { initBackend } from '../../src/tfjs/backend.ts';
import * as tf from '@tensorflow/tfjs-core';
import { attendDevice, attendsOnHost, causalMask, HOST_MAX_WORK, QUERY_BLOCK } from '../../src/tfjs/attention.ts';
import { attendHost } from '../../src/tfjs/host-ops.ts';
import { attendOne } from '../reference/reference-ops.ts';
import { makeRng } from '../reference/fixtures.ts';
import { assertClose } from './helpers.ts';

// H = 6 heads over K = 3 kv heads (G = 2), D = 4; the context is 11 positions, 5 of them new.
const H = 6, K = 3, G = 2, D = 4, S = 4, START = 6, N = 5, L = START + N;
const TABLE = [7, 2, 5];

function fixture() {
  const rng = makeRng(3);
  const rand = (n: number) => Float32Array.from({ length: n }, () => 2 * rng() - 1);
  const store = new PagedKvStore({ numLayers: 1, numBlocks: 8, blockSize: S, numKvHeads: K, headDim: D });
  const keys = Array.from({ length: L }, () => rand(K * D));
  const values = Array.from({ length: L }, () => rand(K * D));
  for (let p = 0; p < L; p++) store.write(0, TABLE, p, { k: keys[p], v: values[p] });
  const q = Array.from({ length: N }, () => rand(H * D)); // unscaled, as the reference takes it
  const slots = Int32Array.from({ length: L }, (_, p) => store.slotOffset(TABLE, p));
  const layer = store.layerData(0);
  // The kernels take queries pre-scaled by 1/√D, laid out [N, H·D].
  const scaled = new Float32Array(N * H * D);
  q.forEach((row, i) => row.forEach((x, j) => (scaled[i * H * D + j] = x / Math.sqrt(D))));
  const input = { q: scaled, stride: H * D, n: N, start: START, k: layer.k, v: layer.v, slots, kvFrom: 0, kvHeads: K, G, D };
  const expected = q.map((qi, i) =>
    attendOne(Float64Array.from(qi), keys.slice(0, START + i + 1).map((k) => Float64Array.from(k)), values.slice(0, START + i + 1).map((v) => Float64Array.from(v)), { numHeads: H, numKvHeads: K, headDim: D }),
  );
  return { input, expected };
}

test('host attention reads the paged cache in place and matches the reference', () => {
  const { input, expected } = fixture();
  const out = new Float32Array(N * H * D);
  attendHost(input, out, H * D, { scores: new Float64Array(H * L), acc: new Float64Array(H * D) });
  expected.forEach((e, i) => assertClose(out.subarray(i * H * D, (i + 1) * H * D), e, 1e-6, `token ${i}`));
});

for (const block of [QUERY_BLOCK, 2]) {
  test(`device attention (2-D matMuls per kv head, causal mask, query blocks of ${block}) matches the reference`, async () => {
    await initBackend('wasm');
    const { input, expected } = fixture();
    const out = new Float32Array(N * H * D);
    const blocks: number[][] = [];
    const masks: tf.Tensor2D[] = [];
    attendDevice(input, out, H * D, (i0, i1) => {
      blocks.push([i0, i1]);
      if (i1 - i0 === 1) return null;
      masks.push(causalMask(G, i1 - i0, START + i0));
      return masks.at(-1)!;
    }, block);
    tf.dispose(masks);
    // 5 queries: one block of 128, or blocks [0,2) [2,4) [4,5) (the last a single token, no mask).
    assert.deepEqual(blocks, block === 2 ? [[0, 2], [2, 4], [4, 5]] : [[0, 5]]);
    expected.forEach((e, i) => assertClose(out.subarray(i * H * D, (i + 1) * H * D), e, 1e-5, `token ${i}`));
  });
}

test('a shard attends only its own kv heads', () => {
  const { input, expected } = fixture();
  // kv head 1 (query heads 2, 3) alone: the output holds 2 heads per token.
  const q = new Float32Array(N * G * D);
  for (let i = 0; i < N; i++) q.set(input.q.subarray(i * H * D + 2 * D, i * H * D + 4 * D), i * G * D);
  const out = new Float32Array(N * G * D);
  attendHost({ ...input, q, stride: G * D, kvFrom: 1, kvHeads: 1 }, out, G * D, { scores: new Float64Array(G * L), acc: new Float64Array(G * D) });
  expected.forEach((e, i) => assertClose(out.subarray(i * G * D, (i + 1) * G * D), e.subarray(2 * D, 4 * D), 1e-6, `token ${i}`));
});

test('short chunks attend on the host, long ones on the backend', () => {
  assert.equal(attendsOnHost(1, 1, 1023, 64), true); // decode over 1,024 positions: 65,536 = HOST_MAX_WORK
  assert.equal(attendsOnHost(1, 1, 1024, 64), false);
  assert.equal(attendsOnHost(512, 1, 0, 64), false); // a 512-token prompt
  assert.equal(HOST_MAX_WORK, 64 * 1024);
});
