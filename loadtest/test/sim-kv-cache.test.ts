/**
 * The simulated paged KV cache: prefix reuse, LRU eviction of idle cached blocks and the KV events
 * a worker would push. Scenario tests state the cache after every step in comments.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SimKvCache } from '../src/index.ts';

describe('sim kv cache', () => {
  test('blocks: allocate, register, reuse by prefix, LRU eviction order, events', () => {
    const c = new SimKvCache(4);
    // seq A computes 2 full blocks a1 a2: 2 private → 2 hashed
    assert.ok(c.allocate(2));
    const a1 = c.register('a1')!;
    const a2 = c.register('a2')!;
    assert.deepEqual(c.takeEvents(), { removed: [], stored: ['a1', 'a2'] });
    assert.equal(c.usedBlocks, 2);
    // a duplicate hash stays private and emits nothing
    assert.ok(c.allocate(1));
    assert.equal(c.register('a1'), null);
    assert.deepEqual(c.takeEvents(), { removed: [], stored: [] });
    c.release([], 1);
    // A ends: its blocks become idle in its block order (a1 the oldest), still cached
    c.release([a1, a2], 0);
    assert.equal(c.usedBlocks, 0);
    assert.equal(c.cachedBlocks, 2);
    assert.equal(c.availableBlocks, 4);
    // B shares the prefix a1 a2 (match counts leading blocks only)
    assert.equal(c.match(['a1', 'a2', 'b3']), 2);
    assert.equal(c.match(['x', 'a2']), 0);
    assert.equal(c.match(['a1', 'a2'], 1), 1);
    const held = c.acquire(['a1'], 1);
    assert.equal(c.usedBlocks, 1);
    // 3 new blocks: 2 free, then the oldest idle block (a2; a1 is held) is evicted
    assert.ok(c.allocate(3));
    assert.deepEqual(c.takeEvents(), { removed: ['a2'], stored: [] });
    assert.equal(c.evictions, 1);
    assert.equal(c.match(['a1', 'a2']), 1);
    // full: nothing more fits, and a failed allocation takes nothing
    assert.equal(c.allocate(1), false);
    assert.equal(c.usedBlocks, 4);
    c.release(held, 3);
    assert.equal(c.usedBlocks, 0);
  });

  test('LRU: the block idle the longest goes first, a re-used block moves to the back', () => {
    const c = new SimKvCache(3);
    c.allocate(3);
    const [x, y, z] = ['x', 'y', 'z'].map((h) => c.register(h)!);
    c.takeEvents();
    c.release([x], 0); // idle: x
    c.release([y], 0); // idle: x y
    c.release([z], 0); // idle: x y z
    const again = c.acquire(['x'], 1); // x held again: idle y z
    c.release(again, 0); // idle: y z x
    c.allocate(2);
    assert.deepEqual(c.takeEvents().removed, ['y', 'z']);
  });

  test('releasing more private blocks than held is a bug, and says so', () => {
    const c = new SimKvCache(2);
    assert.throws(() => c.release([], 1), /released more private blocks/);
  });
});
