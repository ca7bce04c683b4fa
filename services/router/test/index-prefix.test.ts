/**
 * PrefixIndex sequencing scenarios: in-order batches, duplicates, straddling batches, gaps and
 * the buffer replayed after a snapshot, new and restarted workers, eviction, clear, removal and
 * tiers. Each test states the expected state (worker → hashes, lastSeq) in comments.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PrefixIndex } from '../src/index/index.ts';
import { batch, blk, blks, cleared, removed, snapshot, stored } from './index-fixtures.ts';

const held = (ix: PrefixIndex, id: string): string[] => ix.hashesOf(id).sort();

describe('PrefixIndex: sequencing', () => {
  test('a new worker starting at seq 1 is applied without a snapshot', () => {
    const ix = new PrefixIndex();
    assert.equal(ix.applyBatch(batch('w1', stored(1, blks(0, 3)), stored(2, blks(3, 4)))), 'applied');
    // w1 = {0,1,2,3}, lastSeq 2
    assert.deepEqual(held(ix, 'w1'), blks(0, 4));
    assert.equal(ix.lastSeqOf('w1'), 2);
    assert.equal(ix.needsSnapshot('w1'), false);
    assert.equal(ix.size, 4);
    assert.equal(ix.blocksOf('w1'), 4);
  });

  test('a new worker seen mid-stream needs a snapshot; its batches wait for it', () => {
    const ix = new PrefixIndex();
    assert.equal(ix.applyBatch(batch('w1', stored(50, [blk(50)]))), 'gap');
    assert.equal(ix.needsSnapshot('w1'), true);
    assert.equal(ix.hasWorker('w1'), true);
    assert.equal(ix.blocksOf('w1'), 0); // buffered, not applied
    assert.equal(ix.applyBatch(batch('w1', stored(51, [blk(51)]))), 'gap');
    // Snapshot at seq 49 = {1, 2}; then 50 and 51 replay from the buffer.
    assert.equal(ix.loadSnapshot(snapshot('w1', 49, [blk(1), blk(2)])), 'loaded');
    assert.deepEqual(held(ix, 'w1'), [blk(1), blk(2), blk(50), blk(51)]);
    assert.equal(ix.lastSeqOf('w1'), 51);
    assert.equal(ix.needsSnapshot('w1'), false);
    assert.equal(ix.stats().gaps, 0, 'first sight is not a gap');
  });

  test('duplicates are stale, a straddling batch applies only its new events', () => {
    const ix = new PrefixIndex();
    ix.applyBatch(batch('w1', stored(1, [blk(1)])));
    ix.applyBatch(batch('w1', stored(2, [blk(2)])));
    assert.equal(ix.applyBatch(batch('w1', stored(2, [blk(2)]))), 'stale');
    assert.equal(ix.applyBatch(batch('w1', stored(2, [blk(2)]))), 'stale');
    // seq 2 is skipped (a stale copy that would remove 1 is NOT applied), 3 is applied.
    assert.equal(ix.applyBatch(batch('w1', removed(2, [blk(1)]), stored(3, [blk(3)]))), 'applied');
    assert.deepEqual(held(ix, 'w1'), [blk(1), blk(2), blk(3)]);
    assert.equal(ix.lastSeqOf('w1'), 3);
    assert.equal(ix.stats().staleEvents, 3);
  });

  test('a gap marks the worker, buffers later batches, and the snapshot resumes at seq + 1', () => {
    const ix = new PrefixIndex();
    ix.applyBatch(batch('w1', stored(1, blks(0, 2))));
    // seq 2 is lost; 3 arrives → gap. w1 keeps {0,1} for match meanwhile.
    assert.equal(ix.applyBatch(batch('w1', stored(3, [blk(3)]))), 'gap');
    assert.equal(ix.needsSnapshot('w1'), true);
    assert.deepEqual(held(ix, 'w1'), blks(0, 2));
    assert.equal(ix.match(blks(0, 4)).get('w1'), 2);
    // Even a batch that would be in order (4) waits: nothing is applied until the snapshot.
    assert.equal(ix.applyBatch(batch('w1', stored(4, [blk(4)]))), 'gap');
    assert.equal(ix.applyBatch(batch('w1', removed(5, [blk(0)]))), 'gap');
    assert.deepEqual(held(ix, 'w1'), blks(0, 2));
    // The snapshot was taken at seq 3: {0,1,2,3}. Buffered 3 (≤ 3) is skipped; 4 and 5 apply.
    assert.equal(ix.loadSnapshot(snapshot('w1', 3, blks(0, 4))), 'loaded');
    // w1 = {1,2,3,4}, lastSeq 5
    assert.deepEqual(held(ix, 'w1'), blks(1, 5));
    assert.equal(ix.lastSeqOf('w1'), 5);
    const s = ix.stats();
    assert.equal(s.gaps, 1);
    assert.equal(s.snapshotsLoaded, 1);
    assert.equal(s.bufferedEvents, 0);
  });

  test('a gap inside one batch applies the events before it', () => {
    const ix = new PrefixIndex();
    assert.equal(ix.applyBatch(batch('w1', stored(1, [blk(1)]), stored(2, [blk(2)]), stored(4, [blk(4)]))), 'gap');
    // 1 and 2 applied, 4 waits: w1 = {1,2}, lastSeq 2
    assert.deepEqual(held(ix, 'w1'), [blk(1), blk(2)]);
    assert.equal(ix.lastSeqOf('w1'), 2);
    ix.loadSnapshot(snapshot('w1', 3, [blk(1), blk(2), blk(3)]));
    assert.deepEqual(held(ix, 'w1'), [blk(1), blk(2), blk(3), blk(4)]);
  });

  test('a buffer that does not continue at snapshot.seq + 1 is a new gap', () => {
    const ix = new PrefixIndex();
    ix.expectSnapshot('w1');
    ix.applyBatch(batch('w1', stored(10, [blk(10)])));
    // The snapshot is older than the buffer's start (seq 7): 8 and 9 are missing.
    ix.loadSnapshot(snapshot('w1', 7, [blk(7)]));
    assert.deepEqual(held(ix, 'w1'), [blk(7)]);
    assert.equal(ix.needsSnapshot('w1'), true);
    assert.equal(ix.stats().gaps, 1);
    ix.loadSnapshot(snapshot('w1', 9, [blk(7), blk(9)]));
    assert.deepEqual(held(ix, 'w1'), [blk(10), blk(7), blk(9)].sort());
    assert.equal(ix.needsSnapshot('w1'), false);
  });

  test('expectSnapshot: events after the request are buffered and survive an older snapshot', () => {
    const ix = new PrefixIndex();
    ix.applyBatch(batch('w1', stored(1, [blk(1)])));
    ix.expectSnapshot('w1');
    // In flight: the worker answered at seq 2, then published 3; 3 reaches us before the reply.
    assert.equal(ix.applyBatch(batch('w1', stored(2, [blk(2)]), stored(3, [blk(3)]))), 'gap');
    ix.loadSnapshot(snapshot('w1', 2, [blk(1), blk(2)]));
    assert.deepEqual(held(ix, 'w1'), [blk(1), blk(2), blk(3)]);
    assert.equal(ix.lastSeqOf('w1'), 3);
  });

  test('a snapshot older than what was applied is stale unless one was expected', () => {
    const ix = new PrefixIndex();
    ix.applyBatch(batch('w1', stored(1, [blk(1)]), stored(2, [blk(2)])));
    assert.equal(ix.loadSnapshot(snapshot('w1', 1, [blk(1)])), 'stale');
    assert.deepEqual(held(ix, 'w1'), [blk(1), blk(2)]);
    // Expected (e.g. the worker restarted): it replaces whatever was there.
    ix.expectSnapshot('w1');
    assert.equal(ix.loadSnapshot(snapshot('w1', 1, [blk(9)])), 'loaded');
    assert.deepEqual(held(ix, 'w1'), [blk(9)]);
    assert.equal(ix.lastSeqOf('w1'), 1);
  });

  test('a worker whose batch starts at seq 1 again restarted: its blocks are dropped', () => {
    const ix = new PrefixIndex();
    ix.applyBatch(batch('w1', stored(1, blks(0, 3)), stored(2, blks(3, 5))));
    assert.equal(ix.applyBatch(batch('w1', stored(1, [blk(100)]))), 'applied');
    // w1 = {100}, lastSeq 1
    assert.deepEqual(held(ix, 'w1'), [blk(100)]);
    assert.equal(ix.lastSeqOf('w1'), 1);
    assert.equal(ix.stats().restarts, 1);
    // Were it a duplicate of the old seq 1 instead, the next batch (old seq 3) would be a gap,
    // and the snapshot it asks for puts things right.
    assert.equal(ix.applyBatch(batch('w1', stored(3, [blk(5)]))), 'gap');
  });

  test('the buffer is bounded: the oldest batches go first, and the replay finds the hole', () => {
    const ix = new PrefixIndex({ maxBufferedEvents: 3 });
    ix.expectSnapshot('w1');
    for (let s = 1; s <= 5; s++) ix.applyBatch(batch('w1', stored(s, [blk(s)])));
    // Buffer keeps seq 3, 4, 5 (1 and 2 dropped).
    assert.equal(ix.stats().bufferedEvents, 3);
    assert.equal(ix.stats().droppedBufferedEvents, 2);
    ix.loadSnapshot(snapshot('w1', 1, [blk(1)]));
    // 2 is gone: replaying 3 is a gap; the worker needs another snapshot.
    assert.equal(ix.needsSnapshot('w1'), true);
    ix.loadSnapshot(snapshot('w1', 2, [blk(1), blk(2)]));
    assert.deepEqual(held(ix, 'w1'), blks(1, 6));
    assert.throws(() => new PrefixIndex({ maxBufferedEvents: 0 }), /maxBufferedEvents/);
  });

  test('an empty batch is a no-op', () => {
    const ix = new PrefixIndex();
    assert.equal(ix.applyBatch(batch('w1')), 'applied');
    assert.equal(ix.hasWorker('w1'), false);
  });
});

describe('PrefixIndex: eviction, clear, removal, tiers', () => {
  test('removed events evict exactly those hashes; a hash no one holds leaves the index', () => {
    const ix = new PrefixIndex();
    ix.applyBatch(batch('w1', stored(1, blks(0, 4))));
    ix.applyBatch(batch('w2', stored(1, blks(0, 2))));
    ix.applyBatch(batch('w1', removed(2, [blk(3), blk(1)])));
    // w1 = {0, 2}, w2 = {0, 1}; distinct = {0, 1, 2}
    assert.deepEqual(held(ix, 'w1'), [blk(0), blk(2)]);
    assert.deepEqual(held(ix, 'w2'), [blk(0), blk(1)]);
    assert.equal(ix.size, 3);
    assert.equal(ix.stats().entries, 4);
    // Removing what is not held changes nothing but the seq.
    ix.applyBatch(batch('w1', removed(3, [blk(77)])));
    assert.equal(ix.lastSeqOf('w1'), 3);
    assert.equal(ix.size, 3);
  });

  test('cleared drops every block of that worker only', () => {
    const ix = new PrefixIndex();
    ix.applyBatch(batch('w1', stored(1, blks(0, 100))));
    ix.applyBatch(batch('w2', stored(1, blks(50, 60))));
    ix.applyBatch(batch('w1', cleared(2), stored(3, [blk(500)])));
    // w1 = {500}, w2 = {50..59}
    assert.deepEqual(held(ix, 'w1'), [blk(500)]);
    assert.equal(ix.blocksOf('w2'), 10);
    assert.equal(ix.size, 11);
  });

  test('removeWorker drops the worker and its blocks; its slot is reused cleanly', () => {
    const ix = new PrefixIndex();
    ix.applyBatch(batch('w1', stored(1, blks(0, 10))));
    ix.applyBatch(batch('w2', stored(1, blks(5, 15))));
    assert.equal(ix.removeWorker('w1'), true);
    assert.equal(ix.removeWorker('w1'), false);
    assert.equal(ix.hasWorker('w1'), false);
    assert.equal(ix.size, 10);
    assert.deepEqual([...ix.match(blks(5, 8))], [['w2', 3]]);
    assert.equal(ix.match(blks(0, 3)).size, 0);
    ix.applyBatch(batch('w3', stored(1, [blk(0)])));
    assert.deepEqual([...ix.match(blks(0, 3))], [['w3', 1]]);
    assert.deepEqual(ix.workerIds().sort(), ['w2', 'w3']);
  });

  test('tiers: one per (worker, hash), the latest stored wins, default 0', () => {
    const ix = new PrefixIndex();
    ix.applyBatch(batch('w1', stored(1, [blk(1), blk(2)])));
    ix.applyBatch(batch('w1', stored(2, [blk(2)])), { tier: 1 });
    assert.equal(ix.tierOf('w1', blk(1)), 0);
    assert.equal(ix.tierOf('w1', blk(2)), 1);
    assert.equal(ix.tierOf('w1', blk(3)), undefined);
    assert.equal(ix.tierOf('nobody', blk(1)), undefined);
    ix.applyBatch(batch('w1', removed(3, [blk(2)]), stored(4, [blk(2)])));
    assert.equal(ix.tierOf('w1', blk(2)), 0);
    ix.applyBatch(batch('w1', stored(5, [blk(3)])), { tier: 2 });
    ix.applyBatch(batch('w1', cleared(6), stored(7, [blk(3)])));
    assert.equal(ix.tierOf('w1', blk(3)), 0);
  });

  test('malformed hashes are counted and never indexed', () => {
    const ix = new PrefixIndex();
    ix.applyBatch(batch('w1', stored(1, ['not-a-hash', blk(1)])));
    assert.equal(ix.size, 1);
    assert.equal(ix.stats().malformedHashes, 1);
  });
});
