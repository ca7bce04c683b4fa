// Unit tests of the reference building blocks on hand-checkable sizes.
// Dimensions: T tokens · E hidden · H heads · K kv heads · D head dim · X experts
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { attendOne, moeRoute, rmsNorm, rope, softmax } from './reference-ops.ts';

const f64 = (xs: number[]) => Float64Array.from(xs);
const tensor = (xs: number[]) => ({ shape: [xs.length], data: Float32Array.from(xs) });

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-12): void {
  assert.equal(actual.length, expected.length, 'length');
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `[${i}] ${actual[i]} vs ${expected[i]}`);
  }
}

const norm = (x: ArrayLike<number>) => Math.sqrt(Array.from(x).reduce((a, b) => a + b * b, 0));

void describe('rmsNorm', () => {
  void it('divides by the root mean square, then multiplies by the weight', () => {
    // mean(x²) = (1 + 4 + 9 + 16) / 4 = 7.5
    const r = Math.sqrt(7.5);
    assertClose(rmsNorm(f64([1, 2, 3, 4]), tensor([1, 1, 1, 1]), 0), [1 / r, 2 / r, 3 / r, 4 / r]);
    assertClose(rmsNorm(f64([1, 2, 3, 4]), tensor([2, 0, 1, -1]), 0), [2 / r, 0, 3 / r, -4 / r]);
  });

  void it('adds eps inside the square root', () => {
    // x = 0 → 0 / √eps = 0, no NaN; x = [3]: 3 / √(9 + 7) = 0.75
    assertClose(rmsNorm(f64([0, 0]), tensor([1, 1]), 1e-5), [0, 0]);
    assertClose(rmsNorm(f64([3]), tensor([1]), 7), [0.75]);
  });
});

void describe('rope (rotate_half)', () => {
  void it('is the identity at position 0', () => {
    const x = f64([0.3, -1.2, 2.5, 0.7, 1.1, -0.4, 0.9, 3.3]);
    assertClose(rope(x, 4, 0, 10000), x);
  });

  void it('preserves the norm of every head', () => {
    const x = f64([0.3, -1.2, 2.5, 0.7, 1.1, -0.4, 0.9, 3.3]);
    for (const pos of [1, 7, 123]) {
      const y = rope(x, 4, pos, 10000);
      assert.ok(Math.abs(norm(y.subarray(0, 4)) - norm(x.subarray(0, 4))) < 1e-12);
      assert.ok(Math.abs(norm(y.subarray(4)) - norm(x.subarray(4))) < 1e-12);
    }
  });

  void it('matches a hand-computed 4-dim example', () => {
    // D = 4, θ = 10000, pos = 1: inv_freq = [θ^0, θ^(-2/4)] = [1, 0.01]; pairs (x0,x2), (x1,x3).
    //   out0 = 1·cos 1 − 3·sin 1          = -1.98411064855555
    //   out2 = 3·cos 1 + 1·sin 1          =  2.46237790241232
    //   out1 = 2·cos .01 − 4·sin .01      =  1.95990066749666
    //   out3 = 4·cos .01 + 2·sin .01      =  4.01979966833499
    const y = rope(f64([1, 2, 3, 4]), 4, 1, 10000);
    assertClose(y, [-1.98411064855555, 1.95990066749666, 2.46237790241232, 4.01979966833499], 1e-13);
  });

  void it('rotates position p by p times the base angle', () => {
    const x = f64([1, 0, 0, 0]);
    // Pair 0 turns by p radians: (cos p, sin p) lands in (x0, x2).
    assertClose(rope(x, 4, 5, 10000), [Math.cos(5), 0, Math.sin(5), 0]);
  });
});

void describe('softmax', () => {
  void it('gives known values and sums to 1', () => {
    assertClose(softmax([0, Math.log(2)]), [1 / 3, 2 / 3]);
    const p = softmax([0.1, -3, 2, 2]);
    assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-15);
    assert.equal(p[2], p[3]);
  });

  void it('is shift invariant and does not overflow', () => {
    assertClose(softmax([1000, 1000 + Math.log(2)]), [1 / 3, 2 / 3]);
    assertClose(softmax([-5, 1, 2]), softmax([995, 1001, 1002]));
  });
});

void describe('attendOne', () => {
  const shape = { numHeads: 4, numKvHeads: 2, headDim: 2 };

  void it('with one visible token returns its v, each query head reading kv head ⌊h / (H/K)⌋', () => {
    const q = f64([5, -1, 0.3, 2, -7, 1, 4, 4]);
    const k = f64([1, 2, 3, 4]);
    const v = f64([10, 11, 20, 21]);
    // heads 0,1 → kv head 0 (v = [10, 11]); heads 2,3 → kv head 1 (v = [20, 21])
    assertClose(attendOne(q, [k], [v], shape), [10, 11, 10, 11, 20, 21, 20, 21]);
  });

  void it('weights values by softmax(q·k / √D)', () => {
    const s = { numHeads: 1, numKvHeads: 1, headDim: 2 };
    // q·k0 = 0, q·k1 = 2 → scores [0, 2/√2] → p = softmax([0, √2])
    const p = softmax([0, Math.SQRT2]);
    const out = attendOne(f64([1, 1]), [f64([0, 0]), f64([1, 1])], [f64([1, 0]), f64([0, 1])], s);
    assertClose(out, [p[0], p[1]]);
  });
});

void describe('moeRoute', () => {
  void it('keeps the top-k and renormalises when normTopkProb', () => {
    const logits = [0.5, 2, -1, 1];
    const r = moeRoute(logits, 2, true);
    assert.deepEqual(r.experts, [1, 3]);
    // Mixtral: renormalised top-k of the full softmax == softmax over the top-k logits.
    assertClose(r.weights, softmax([2, 1]), 1e-15);
  });

  void it('keeps the raw softmax weights without normTopkProb', () => {
    const full = softmax([0.5, 2, -1, 1]);
    assertClose(moeRoute([0.5, 2, -1, 1], 2, false).weights, [full[1], full[3]]);
  });

  void it('breaks ties by the lower expert index', () => {
    assert.deepEqual(moeRoute([1, 1, 1, 1], 2, true).experts, [0, 1]);
    assert.deepEqual(moeRoute([0, 2, 3, 2, 3], 3, true).experts, [2, 4, 1]);
    assert.deepEqual(moeRoute([0, 2, 2, 1], 1, true).experts, [1]);
  });

  void it('rejects topK outside [1, X]', () => {
    assert.throws(() => moeRoute([1, 2], 3, true), /topK/);
    assert.throws(() => moeRoute([1, 2], 0, true), /topK/);
  });
});
