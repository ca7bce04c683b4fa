/**
 * BlockManager scenarios around the free queue and KV events: LRU eviction order, all-or-nothing
 * allocation, stored-event chaining, snapshots and resets. Block size 4 keeps the pictures small.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashPromptBlocks } from '../../src/kv/block-hash.ts';
import { freeQueue, managerWithEvents, prefill, range, refCounts, replay } from './fixtures.ts';

const S = 4;
const hashes = (tokens: number[]) => hashPromptBlocks(tokens, S);

void describe('BlockManager eviction', () => {
  void it('evicts the least recently freed sequence first, and each sequence tail first', () => {
    const { mgr, events } = managerWithEvents({ numBlocks: 6, blockSize: S });
    const a = range(0, 12); //   3 full blocks
    const b = range(100, 8); //  2 full blocks
    prefill(mgr, 'a', a); //     a → [0, 1, 2]   stored seq 1
    prefill(mgr, 'b', b); //     b → [3, 4]      stored seq 2
    const [hA0, hA1, hA2] = hashes(a);
    const hB1 = hashes(b)[1];

    mgr.freeSequence('a'); //    queue: 5 | 2 1 0          (hashed blocks to the tail, reversed)
    mgr.freeSequence('b'); //    queue: 5 | 2 1 0 | 4 3    (b freed later → evicted later)
    assert.deepEqual(freeQueue(mgr), [5, 2, 1, 0, 4, 3]);
    assert.equal(mgr.stats().cachedBlocks, 5);

    // c needs 4 blocks: the never-used block 5 costs nothing, then a's blocks tail first.
    mgr.openSequence('c', range(200, 16));
    assert.ok(mgr.allocateSlots('c', 16));
    assert.deepEqual(mgr.blockTable('c'), [5, 2, 1, 0]);
    // One 'removed' event for the whole call, in eviction order.
    assert.deepEqual(events.slice(2), [{ type: 'removed', seq: 3, hashes: [hA2, hA1, hA0] }]);
    assert.equal(mgr.cachedPrefixBlocks(hashes(a)), 0);
    assert.equal(mgr.cachedPrefixBlocks(hashes(b)), 2);

    // c commits 10 tokens: blocks 5, 2 full (hashed), 1 partial, 0 empty.
    mgr.commitTokens('c', range(200, 10));
    const [hC0, hC1] = hashes(range(200, 16));
    assert.deepEqual(events[3], { type: 'stored', seq: 4, parentHash: null, hashes: [hC0, hC1], blockSize: S });
    // Freed in reverse table order 0 1 2 5: unhashed 0, 1 go to the head, hashed 2, 5 to the tail.
    mgr.freeSequence('c'); //    queue: 0 1 | 4 3 | 2 5
    assert.deepEqual(freeQueue(mgr), [0, 1, 4, 3, 2, 5]);

    // d needs 3 blocks: the two unhashed ones, then b's tail block 4.
    mgr.openSequence('d', range(300, 12));
    assert.ok(mgr.allocateSlots('d', 12));
    assert.deepEqual(mgr.blockTable('d'), [0, 1, 4]);
    assert.deepEqual(events[4], { type: 'removed', seq: 5, hashes: [hB1] });
    assert.equal(mgr.cachedPrefixBlocks(hashes(b)), 1);
  });

  void it('a cache hit pulls a block out of the free queue and it re-enters at the tail', () => {
    const { mgr } = managerWithEvents({ numBlocks: 4, blockSize: S });
    prefill(mgr, 'a', range(0, 4)); //       a → [0]      (block 0 hashed)
    prefill(mgr, 'b', range(100, 4)); //     b → [1]      (block 1 hashed)
    mgr.freeSequence('a');
    mgr.freeSequence('b'); //                queue: 2 3 | 0 1
    assert.deepEqual(freeQueue(mgr), [2, 3, 0, 1]);
    assert.deepEqual(mgr.openSequence('a2', range(0, 5)), { cachedTokens: 4 }); // hit on block 0
    assert.deepEqual(freeQueue(mgr), [2, 3, 1]);
    assert.deepEqual(refCounts(mgr), [1, 0, 0, 0]);
    mgr.freeSequence('a2'); //               block 0 now most recently freed
    assert.deepEqual(freeQueue(mgr), [2, 3, 1, 0]);
  });

  void it('allocateSlots fails without taking or evicting anything', () => {
    const { mgr, events } = managerWithEvents({ numBlocks: 4, blockSize: S });
    const a = range(0, 8);
    prefill(mgr, 'a', a); //                a → [0, 1], stored seq 1
    mgr.freeSequence('a'); //               queue: 2 3 | 1 0
    mgr.openSequence('b', range(100, 20));
    assert.equal(mgr.allocateSlots('b', 20), false); // 5 blocks > 4 free
    assert.deepEqual(mgr.blockTable('b'), []);
    assert.deepEqual(freeQueue(mgr), [2, 3, 1, 0]);
    assert.equal(mgr.cachedPrefixBlocks(hashes(a)), 2);
    assert.equal(events.length, 1);
    // Partially covered tables fail atomically too.
    assert.ok(mgr.allocateSlots('b', 8)); //       b → [2, 3]
    assert.equal(mgr.allocateSlots('b', 20), false); // needs 3 more, 2 free
    assert.deepEqual(mgr.blockTable('b'), [2, 3]);
    assert.ok(mgr.allocateSlots('b', 16)); //      b → [2, 3, 1, 0], evicting a tail first
    assert.deepEqual(mgr.blockTable('b'), [2, 3, 1, 0]);
    const [hA0, hA1] = hashes(a);
    assert.deepEqual(events[1], { type: 'removed', seq: 2, hashes: [hA1, hA0] });
    assert.equal(mgr.numFreeBlocks(), 0);
  });
});

void describe('BlockManager stored events', () => {
  void it('chains parentHash across calls: prompt commit, then decode tokens filling a block', () => {
    const { mgr, events } = managerWithEvents({ numBlocks: 8, blockSize: S });
    const all = range(0, 20); //  prompt = tokens 0..5, then generated tokens 6..19
    const h = hashes(all); //     h0 … h4
    mgr.openSequence('a', all.slice(0, 6));
    assert.ok(mgr.allocateSlots('a', 6));
    mgr.commitTokens('a', all.slice(0, 6)); //   block 0 full → stored seq 1 [h0]; 2 tokens pending
    mgr.commitTokens('a', []); //                nothing
    assert.ok(mgr.allocateSlots('a', 7));
    mgr.commitTokens('a', [6]); //                3 pending
    assert.ok(mgr.allocateSlots('a', 8));
    mgr.commitTokens('a', [7]); //                block 1 full → stored seq 2 [h1], parent h0
    assert.ok(mgr.allocateSlots('a', 20));
    mgr.commitTokens('a', all.slice(8, 20)); //   3 blocks at once → one event seq 3, parent h1
    assert.deepEqual(events, [
      { type: 'stored', seq: 1, parentHash: null, hashes: [h[0]], blockSize: S },
      { type: 'stored', seq: 2, parentHash: h[0], hashes: [h[1]], blockSize: S },
      { type: 'stored', seq: 3, parentHash: h[1], hashes: [h[2], h[3], h[4]], blockSize: S },
    ]);
    assert.equal(mgr.numCommittedTokens('a'), 20);
  });

  void it('splits one call into runs around a block whose hash another block holds', () => {
    const { mgr, events } = managerWithEvents({ numBlocks: 8, blockSize: S });
    const p = range(0, 12);
    const h = hashes(p);
    // Both open before either commits, so neither finds a cached prefix.
    mgr.openSequence('a', p);
    mgr.openSequence('b', p);
    assert.ok(mgr.allocateSlots('a', 12)); //   a → [0, 1, 2]
    assert.ok(mgr.allocateSlots('b', 12)); //   b → [3, 4, 5]
    mgr.commitTokens('a', p.slice(0, 4)); //    block 0 of a: stored seq 1 [h0]
    // b commits all 12: block 3 duplicates h0 (stays unhashed), blocks 4, 5 are new → one run.
    mgr.commitTokens('b', p);
    assert.deepEqual(events, [
      { type: 'stored', seq: 1, parentHash: null, hashes: [h[0]], blockSize: S },
      { type: 'stored', seq: 2, parentHash: h[0], hashes: [h[1], h[2]], blockSize: S },
    ]);
    // a commits the rest: block 1 duplicates h1, block 2 duplicates h2 → no event at all.
    mgr.commitTokens('a', p.slice(4));
    assert.equal(events.length, 2);
    assert.equal(mgr.stats().cachedBlocks, 3);
  });
  void it('a duplicate in the middle of a call splits it into two chained events', () => {
    const { mgr, events } = managerWithEvents({ numBlocks: 8, blockSize: S });
    const p = range(0, 12);
    const h = hashes(p);
    mgr.openSequence('a', p);
    mgr.openSequence('b', p);
    assert.ok(mgr.allocateSlots('a', 4)); //    a → [0]
    assert.ok(mgr.allocateSlots('b', 8)); //    b → [1, 2]
    mgr.commitTokens('a', p.slice(0, 4)); //    block 0 = h0                   stored seq 1
    mgr.commitTokens('b', p.slice(0, 8)); //    block 1 dup of h0; block 2 = h1 stored seq 2
    mgr.freeSequence('a'); //                   queue: 3 4 5 6 7 | 0
    mgr.openSequence('f', range(900, 24));
    assert.ok(mgr.allocateSlots('f', 24)); //   f → [3, 4, 5, 6, 7, 0]: evicts h0 (seq 3)
    mgr.freeSequence('f');
    // Now h1 is cached (block 2, held by b) but h0 is not: e finds no prefix.
    assert.deepEqual(mgr.openSequence('e', p), { cachedTokens: 0 });
    assert.ok(mgr.allocateSlots('e', 12));
    mgr.commitTokens('e', p); //                h0 new, h1 dup, h2 new → two runs
    assert.deepEqual(events.slice(2), [
      { type: 'removed', seq: 3, hashes: [h[0]] },
      { type: 'stored', seq: 4, parentHash: null, hashes: [h[0]], blockSize: S },
      { type: 'stored', seq: 5, parentHash: h[1], hashes: [h[2]], blockSize: S },
    ]);
    assert.deepEqual(new Set(mgr.snapshot().hashes), new Set(h));
  });
});

void describe('BlockManager snapshot and reset', () => {
  void it('snapshot equals the set implied by the events, at the last seq', () => {
    const { mgr, events } = managerWithEvents({ numBlocks: 5, blockSize: S });
    prefill(mgr, 'a', range(0, 9)); //     a → [0, 1, 2]; stores 2 hashes (seq 1)
    prefill(mgr, 'b', range(0, 13)); //    b → [0, 1, 3, 4]: hit 8 tokens, stores 1 (seq 2)
    mgr.freeSequence('a');
    mgr.freeSequence('b'); //              queue: 2 | 4 3 1 0  (b's hashed 3, 1, 0; a's 2 unhashed)
    prefill(mgr, 'c', range(500, 12)); //  c takes 2, 4, 3: evicts h(b,2) (seq 3); stores 3 (seq 4)
    const snap = mgr.snapshot();
    assert.equal(snap.seq, 4);
    assert.equal(snap.seq, events[events.length - 1].seq);
    assert.equal(snap.blockSize, S);
    assert.deepEqual(new Set(snap.hashes), replay(events));
    assert.equal(snap.hashes.length, 5); // a/b's first two blocks + c's three
  });

  void it('reset is refused while a sequence is open, then clears everything', () => {
    const { mgr, events } = managerWithEvents({ numBlocks: 4, blockSize: S });
    prefill(mgr, 'a', range(0, 8)); //      stored seq 1
    assert.equal(mgr.resetPrefixCache(), false);
    mgr.openSequence('idle', [1]); //       open, even with no blocks, still blocks a reset
    mgr.freeSequence('a');
    assert.equal(mgr.resetPrefixCache(), false);
    assert.equal(events.length, 1);
    mgr.freeSequence('idle');
    assert.deepEqual(freeQueue(mgr), [2, 3, 1, 0]);
    assert.equal(mgr.resetPrefixCache(), true);
    assert.deepEqual(events[1], { type: 'cleared', seq: 2 });
    assert.deepEqual(mgr.snapshot(), { seq: 2, blockSize: S, hashes: [] });
    assert.equal(mgr.cachedPrefixBlocks(hashes(range(0, 8))), 0);
    // The pool is as if fresh: ids hand out from 0 again.
    assert.deepEqual(freeQueue(mgr), [0, 1, 2, 3]);
    assert.deepEqual(mgr.openSequence('b', range(0, 9)), { cachedTokens: 0 });
    assert.ok(mgr.allocateSlots('b', 9));
    assert.deepEqual(mgr.blockTable('b'), [0, 1, 2]);
    // Cumulative stats survive the reset (they feed monotonic counters).
    assert.equal(mgr.stats().prefixQueries, 8 + 1 + 9); // a, idle, b
  });
});
