import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WasmGemm } from '../../src/tfjs/gemm/index.ts';
import { Rng } from '../../src/model/rng.ts';

/** out [M, N] = x [M, K] · Wᵀ for W [N, K] (HF layout), f64 sums. */
function reference(x: Float32Array, M: number, w: Float32Array, N: number, K: number): Float64Array {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) for (let n = 0; n < N; n++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += x[i * K + k] * w[n * K + k];
    out[i * N + n] = s;
  }
  return out;
}

test('WasmGemm: x · Wᵀ for every row-tile remainder, padded N and stacked parts, to f32 rounding', () => {
  assert.ok(WasmGemm.available);
  const rng = new Rng(7, 1);
  const g = new WasmGemm();
  for (const [M, K, parts] of [[1, 16, [8]], [2, 5, [3]], [3, 64, [8, 8, 16]], [4, 33, [13]], [7, 128, [40, 24]], [13, 512, [96]], [64, 96, [8]]] as const) {
    const x = rng.normals(M * K, 1);
    const ws = parts.map((rows) => ({ data: rng.normals(rows * K, 1), rows }));
    const N = parts.reduce((a, b) => a + b, 0);
    const m = g.packOutIn(ws);
    assert.equal(m.N, N);
    assert.equal(m.paddedN % 8, 0);
    const all = new Float32Array(N * K);
    let o = 0;
    for (const w of ws) {
      all.set(w.data, o);
      o += w.data.length;
    }
    const want = reference(x, M, all, N, K);
    const got = g.matmul(x, M, m);
    assert.equal(got.length, M * N);
    for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-5 * Math.sqrt(K) * 4, `M ${M} K ${K} N ${N} [${i}]: ${got[i]} vs ${want[i]}`);
  }
});

test('WasmGemm: matrices packed earlier stay intact while later ones and larger calls grow the memory', () => {
  const rng = new Rng(8, 1);
  const g = new WasmGemm();
  const K = 64;
  const w1 = { data: rng.normals(16 * K, 1), rows: 16 };
  const m1 = g.packOutIn([w1]);
  const x = rng.normals(2 * K, 1);
  const before = g.matmul(x, 2, m1);
  const big = g.packOutIn([{ data: rng.normals(4096 * K, 1), rows: 4096 }]);
  g.matmul(rng.normals(300 * K, 1), 300, big);
  assert.deepEqual(g.matmul(x, 2, m1), before);
  assert.ok(g.packedBytes >= (16 + 4096) * K * 4);
  assert.throws(() => g.matmul(new Float32Array(10), 2, m1), /needs 2×64/);
  assert.throws(() => g.packOutIn([{ data: new Float32Array(10), rows: 3 }]), /not \[3/);
});
