/**
 * duet-kv32: the WebAssembly SIMD hasher agrees with the plain-JS definition for every length and
 * every way of splitting the bytes, in place and streamed; what the header comment promises it
 * detects, it detects.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KvHasher, kvHashReference, sharedHasher } from '../src/kv-hash.ts';

/** Deterministic pseudo-random bytes. */
function bytes(n: number, seed = 1): Uint8Array {
  let s = seed;
  return Uint8Array.from({ length: n }, () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24);
}

const LENGTHS = [0, 1, 3, 4, 63, 64, 65, 127, 128, 129, 1000, 65535, 65536, 65537, 200_003];

describe('duet-kv32', () => {
  test('runs on WebAssembly SIMD here (Node 20 on x64/arm64)', () => {
    assert.equal(KvHasher.simd, true);
  });

  test('known values: a change here is a wire change (KvChunk.checksum)', () => {
    assert.equal(kvHashReference(new Uint8Array(0)), sharedHasher().hashParts([]));
    // Pinned from the reference implementation; peers of different versions must agree.
    assert.deepEqual([kvHashReference(new Uint8Array(0)), kvHashReference(Uint8Array.of(1, 2, 3)), kvHashReference(bytes(64, 9)), kvHashReference(bytes(1000, 3))], PINNED);
  });

  test('streamed through the scratch: equals the definition for every length', () => {
    for (const n of LENGTHS) {
      const d = bytes(n, n + 1);
      assert.equal(sharedHasher().hashParts([d]), kvHashReference(d), `n = ${n}`);
    }
  });

  test('any split into parts gives the same value', () => {
    const d = bytes(200_003, 5);
    const want = kvHashReference(d);
    for (const cuts of [[1], [63, 64], [65_536], [100_000, 100_001, 150_000], [7, 70_000, 131_072, 199_999]]) {
      const parts = [0, ...cuts, d.length].slice(1).map((end, i, ends) => d.subarray(i === 0 ? 0 : ends[i - 1], end));
      assert.equal(sharedHasher().hashParts([d.subarray(0, 0), ...parts]), want, `cuts ${cuts.join(',')}`);
    }
  });

  test('in place, at any offset (aligned or not): equals the definition', () => {
    const h = new KvHasher(2, 300_000);
    for (const n of LENGTHS) {
      for (const shift of [0, 1, 3, 64]) {
        const d = bytes(n, 2 * n + shift);
        const at = h.slotOffset(n % 2) + shift;
        h.memory.set(d, at);
        assert.equal(h.hashRange(at, n), kvHashReference(d), `n = ${n}, shift ${shift}`);
      }
    }
  });

  test('the plain-JS fallback (no WebAssembly SIMD) gives the same values', () => {
    const js = new KvHasher(1, 70_000, { simd: false });
    for (const n of [0, 5, 64, 1000, 65_537]) {
      const d = bytes(n, 3 * n + 1);
      assert.equal(js.hashParts([d]), kvHashReference(d), `streamed, n = ${n}`);
      js.memory.set(d, js.slotOffset(0) + 1);
      assert.equal(js.hashRange(js.slotOffset(0) + 1, n), kvHashReference(d), `in place, n = ${n}`);
    }
  });

  test('every single-bit flip, and any change inside one 32-bit word, changes the value', () => {
    const d = bytes(300, 11);
    const want = kvHashReference(d);
    for (let bit = 0; bit < d.length * 8; bit++) {
      const e = Uint8Array.from(d);
      e[bit >> 3] ^= 1 << (bit & 7);
      assert.notEqual(sharedHasher().hashParts([e]), want, `bit ${bit}`);
    }
    const e = Uint8Array.from(d);
    e.set([0xde, 0xad, 0xbe, 0xef], 128); // a whole word replaced
    assert.notEqual(sharedHasher().hashParts([e]), want);
  });

  test('trailing zero bytes change the value (the length is mixed in, not just the padded block)', () => {
    const d = bytes(100, 4);
    const padded = new Uint8Array(101);
    padded.set(d);
    assert.notEqual(kvHashReference(padded), kvHashReference(d));
    assert.notEqual(sharedHasher().hashParts([padded]), sharedHasher().hashParts([d]));
    assert.notEqual(sharedHasher().hashParts([new Uint8Array(64)]), sharedHasher().hashParts([new Uint8Array(0)]));
  });

  test('swapped words (a reordering bug) change the value', () => {
    const d = bytes(256, 8);
    const e = Uint8Array.from(d);
    e.set(d.subarray(0, 4), 64);
    e.set(d.subarray(64, 68), 0); // word 0 and word 16 share a lane; word 0 and word 1 do not
    const f = Uint8Array.from(d);
    f.set(d.subarray(0, 4), 4);
    f.set(d.subarray(4, 8), 0);
    assert.notEqual(kvHashReference(e), kvHashReference(d));
    assert.notEqual(kvHashReference(f), kvHashReference(d));
  });
});

const PINNED = [0x2d24f1f3, 0xcb2127e1, 0x69b90f91, 0x3aca4337];
