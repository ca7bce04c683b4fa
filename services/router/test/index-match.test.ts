/**
 * match(): leading blocks only, per worker, and agreement with a slow reference model under a
 * seeded random event stream over many workers (more than 64, so the bitset widens).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PrefixIndex } from '../src/index/index.ts';
import { batch, blk, blks, prng, referenceMatch, removed, sorted, stored } from './index-fixtures.ts';

describe('PrefixIndex.match', () => {
  test('counts only the contiguous leading run; later hits after a miss do not count', () => {
    const ix = new PrefixIndex();
    // w1 = {0..7}; w2 = {0,1,2, 4..7} (3 evicted); w3 = {1..7} (no first block); w4 = {0}
    ix.applyBatch(batch('w1', stored(1, blks(0, 8))));
    ix.applyBatch(batch('w2', stored(1, blks(0, 8)), removed(2, [blk(3)])));
    ix.applyBatch(batch('w3', stored(1, blks(1, 8))));
    ix.applyBatch(batch('w4', stored(1, [blk(0)])));
    assert.deepEqual(sorted(ix.match(blks(0, 10))), [['w1', 8], ['w2', 3], ['w4', 1]]);
    assert.deepEqual(sorted(ix.match(blks(0, 2))), [['w1', 2], ['w2', 2], ['w4', 1]]);
    // The prompt's first block held by no one: nothing matches, whatever follows.
    assert.equal(ix.match([blk(999), ...blks(1, 8)]).size, 0);
    assert.equal(ix.match([]).size, 0);
    assert.equal(ix.match(['zz']).size, 0);
  });

  test('scan mode agrees with a reference model over 80 workers and a random stream of stores and evictions', () => {
    const rand = prng(42);
    const ix = new PrefixIndex({ initialWorkerSlots: 8, match: 'scan' });
    const model = new Map<string, Set<string>>();
    const seqs = new Map<string, number>();
    const WORKERS = 80, CHAINS = 40, LEN = 24;
    const chain = (c: number, i: number): string => blk(c * 1000 + i);
    for (let step = 0; step < 6000; step++) {
      const id = `w${Math.floor(rand() * WORKERS)}`;
      const seq = (seqs.get(id) ?? 0) + 1;
      seqs.set(id, seq);
      const c = Math.floor(rand() * CHAINS);
      if (!model.has(id)) model.set(id, new Set());
      const have = model.get(id)!;
      if (rand() < 0.7) {
        const n = 1 + Math.floor(rand() * LEN);
        const hashes = Array.from({ length: n }, (_, i) => chain(c, i));
        assert.equal(ix.applyBatch(batch(id, stored(seq, hashes))), 'applied');
        hashes.forEach((h) => have.add(h));
      } else {
        const hashes = [chain(c, Math.floor(rand() * LEN)), chain(c, Math.floor(rand() * LEN))];
        assert.equal(ix.applyBatch(batch(id, removed(seq, hashes))), 'applied');
        hashes.forEach((h) => have.delete(h));
      }
      if (step % 50 === 0) {
        const prompt = Array.from({ length: LEN + 2 }, (_, i) => chain(Math.floor(rand() * CHAINS), i));
        const same = Array.from({ length: LEN + 2 }, (_, i) => chain(c, i));
        for (const p of [prompt, same]) assert.deepEqual(sorted(ix.match(p)), sorted(referenceMatch(model, p)));
      }
    }
    const distinct = new Set([...model.values()].flatMap((s) => [...s]));
    assert.equal(ix.size, distinct.size);
    // Removing workers keeps the rest exact.
    for (let w = 0; w < WORKERS; w += 3) {
      ix.removeWorker(`w${w}`);
      model.delete(`w${w}`);
    }
    for (let c = 0; c < CHAINS; c++) {
      const p = Array.from({ length: LEN }, (_, i) => chain(c, i));
      assert.deepEqual(sorted(ix.match(p)), sorted(referenceMatch(model, p)));
    }
  });

  test('search mode (the default) agrees with the reference when holdings are prefix-closed, as the engine keeps them', () => {
    const rand = prng(7);
    const ix = new PrefixIndex({ initialWorkerSlots: 8 });
    const model = new Map<string, Set<string>>();
    const depth = new Map<string, number>(); // `${worker}/${chain}` → blocks held (a prefix)
    const seqs = new Map<string, number>();
    const WORKERS = 70, CHAINS = 30, LEN = 300;
    const chain = (c: number, i: number): string => blk(c * 1000 + i);
    for (let step = 0; step < 4000; step++) {
      const id = `w${Math.floor(rand() * WORKERS)}`;
      const seq = (seqs.get(id) ?? 0) + 1;
      seqs.set(id, seq);
      const c = Math.floor(rand() * CHAINS);
      const key = `${id}/${c}`;
      const have = model.get(id) ?? new Set<string>();
      model.set(id, have);
      const d = depth.get(key) ?? 0;
      if (rand() < 0.6) {
        const to = Math.min(LEN, d + 1 + Math.floor(rand() * 120)); // extend the prefix
        const hashes = Array.from({ length: to - d }, (_, i) => chain(c, d + i));
        if (hashes.length) assert.equal(ix.applyBatch(batch(id, stored(seq, hashes))), 'applied');
        else assert.equal(ix.applyBatch(batch(id, removed(seq, []))), 'applied');
        hashes.forEach((h) => have.add(h));
        depth.set(key, to);
      } else {
        const to = Math.floor(rand() * d); // evict the tail, as the engine does
        const hashes = Array.from({ length: d - to }, (_, i) => chain(c, to + i));
        assert.equal(ix.applyBatch(batch(id, removed(seq, hashes))), 'applied');
        hashes.forEach((h) => have.delete(h));
        depth.set(key, to);
      }
      if (step % 25 === 0) {
        const len = 1 + Math.floor(rand() * (LEN + 20));
        const same = Array.from({ length: len }, (_, i) => chain(c, i));
        const other = [...same.slice(0, Math.floor(len / 2)), ...Array.from({ length: len - Math.floor(len / 2) }, (_, i) => blk(900_000 + step * 1000 + i))];
        for (const p of [same, other]) assert.deepEqual(sorted(ix.match(p)), sorted(referenceMatch(model, p)));
      }
    }
  });
});
