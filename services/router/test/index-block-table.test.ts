/**
 * BlockTable against a reference model (hash → Set of slots) under seeded random adds, removes
 * and slot clears: growth, backward-shift deletion inside clusters, and widening past 32/64 slots.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockTable } from '../src/index/block-table.ts';
import { blk, prng } from './index-fixtures.ts';

function check(t: BlockTable, model: Map<string, Set<number>>, slots: number): void {
  let entries = 0;
  for (const [h, s] of model) {
    entries += s.size;
    assert.ok(t.find(h) >= 0, `hash ${h} must be present`);
    for (let slot = 0; slot < slots; slot++) assert.equal(t.has(h, slot), s.has(slot), `has(${h}, ${slot})`);
  }
  assert.equal(t.size, model.size);
  assert.equal(t.entries, entries);
  for (let slot = 0; slot < slots; slot++) {
    const expect = [...model].filter(([, s]) => s.has(slot)).map(([h]) => h).sort();
    assert.deepEqual(t.hashesOf(slot).sort(), expect, `hashesOf(${slot})`);
    assert.equal(t.blocksOf(slot), expect.length);
  }
}

describe('BlockTable', () => {
  test('random adds, removes and slot clears agree with a reference model through growth', () => {
    const rand = prng(7);
    const t = new BlockTable(8);
    const model = new Map<string, Set<number>>();
    const SLOTS = 8, KEYS = 6000;
    for (let op = 0; op < 40_000; op++) {
      const h = blk(Math.floor(rand() * KEYS) * 0x9e3779b1);
      const slot = Math.floor(rand() * SLOTS);
      const r = rand();
      if (r < 0.6) {
        const had = model.get(h)?.has(slot) ?? false;
        assert.equal(t.add(h, slot), had ? 0 : 1);
        if (!model.has(h)) model.set(h, new Set());
        model.get(h)!.add(slot);
      } else if (r < 0.9995) {
        const had = model.get(h)?.has(slot) ?? false;
        assert.equal(t.remove(h, slot), had);
        model.get(h)?.delete(slot);
        if (model.get(h)?.size === 0) model.delete(h);
      } else {
        const held = [...model.values()].filter((s) => s.has(slot)).length;
        assert.equal(t.clearSlot(slot), held);
        for (const [k, s] of model) if (s.delete(slot) && s.size === 0) model.delete(k);
      }
      if (op % 10_000 === 9_999) check(t, model, SLOTS);
    }
    check(t, model, SLOTS);
    assert.ok(t.size > 1024, 'the table grew past its initial rows');
  });

  test('clearSlot removes one slot everywhere and deletes rows no one holds any more', () => {
    const t = new BlockTable(4);
    for (let i = 0; i < 3000; i++) {
      t.add(blk(i), 0);
      if (i % 3 === 0) t.add(blk(i), 1);
    }
    assert.equal(t.clearSlot(0), 3000);
    // Only the rows slot 1 also held survive: i = 0, 3, 6, … (1000 of them).
    assert.equal(t.size, 1000);
    assert.equal(t.entries, 1000);
    for (let i = 0; i < 3000; i++) assert.equal(t.find(blk(i)) >= 0, i % 3 === 0, `row ${i}`);
    assert.equal(t.blocksOf(0), 0);
  });

  test('widening past 32 and 64 slots keeps every row', () => {
    const t = new BlockTable(1);
    for (let i = 0; i < 500; i++) t.add(blk(i), i % 32);
    t.ensureSlots(70);
    assert.equal(t.slotCapacity >= 70, true);
    for (let i = 0; i < 500; i++) t.add(blk(i), 69);
    for (let i = 0; i < 500; i++) {
      assert.equal(t.has(blk(i), i % 32), true);
      assert.equal(t.has(blk(i), 69), true);
    }
    assert.throws(() => t.add(blk(1), t.slotCapacity), /ensureSlots/);
    assert.throws(() => t.ensureSlots(1 << 17), /at most 65536/);
  });

  test('malformed hashes are refused, never stored; the full 64-bit range round-trips', () => {
    const t = new BlockTable(2);
    for (const bad of ['', 'abc', '0123456789abcdeg', '0123456789abcdef0', 'ффффффффффффффff']) {
      assert.equal(t.add(bad, 0), -1, bad);
      assert.equal(t.find(bad), -1);
    }
    assert.equal(t.size, 0);
    for (const h of ['ffffffffffffffff', '0000000000000000', '8000000000000001']) assert.equal(t.add(h, 1), 1);
    assert.deepEqual(t.hashesOf(1).sort(), ['0000000000000000', '8000000000000001', 'ffffffffffffffff']);
  });

  test('matchLeading counts the leading run per slot and stops at the first hash no one holds', () => {
    const t = new BlockTable(64);
    // slot 0: blocks 0..9; slot 33: 0..4 and 6..9 (hole at 5); slot 63: 1..9 (no first block).
    for (let i = 0; i < 10; i++) t.add(blk(i), 0);
    for (let i = 0; i < 10; i++) if (i !== 5) t.add(blk(i), 33);
    for (let i = 1; i < 10; i++) t.add(blk(i), 63);
    const slots = new Int32Array(64), counts = new Int32Array(64);
    const prompt = Array.from({ length: 12 }, (_, i) => blk(i));
    const n = t.matchLeading(prompt, slots, counts);
    const got = new Map(Array.from({ length: n }, (_, i) => [slots[i], counts[i]]));
    assert.deepEqual([...got].sort((a, b) => a[0] - b[0]), [[0, 10], [33, 5]]);
    assert.equal(t.matchLeading([], slots, counts), 0);
  });
});
