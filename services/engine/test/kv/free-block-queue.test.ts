import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FreeBlockQueue } from '../../src/kv/free-block-queue.ts';

void describe('FreeBlockQueue', () => {
  void it('starts with every block, ids ascending from the head', () => {
    const q = new FreeBlockQueue(4);
    assert.deepEqual(q.toArray(), [0, 1, 2, 3]);
    assert.equal(q.length, 4);
  });

  void it('pops the head, removes from the middle and pushes at both ends', () => {
    const q = new FreeBlockQueue(5);
    assert.equal(q.popFront(), 0); // [1 2 3 4]
    q.remove(2); //                   [1 3 4]
    q.pushBack(2); //                 [1 3 4 2]
    q.pushFront(0); //                [0 1 3 4 2]
    assert.deepEqual(q.toArray(), [0, 1, 3, 4, 2]);
    q.remove(2); // the tail
    q.remove(0); // the head
    assert.deepEqual(q.toArray(), [1, 3, 4]);
    assert.equal(q.length, 3);
    assert.ok(!q.has(0) && q.has(1));
  });

  void it('empties and refills', () => {
    const q = new FreeBlockQueue(2);
    q.popFront();
    q.popFront();
    assert.deepEqual(q.toArray(), []);
    assert.throws(() => q.popFront(), /empty/);
    q.pushBack(1);
    assert.deepEqual(q.toArray(), [1]);
    q.resetToAll();
    assert.deepEqual(q.toArray(), [0, 1]);
  });

  void it('rejects double insertion, removal of absent blocks and bad ids', () => {
    const q = new FreeBlockQueue(3);
    assert.throws(() => q.pushBack(1), /already in the free queue/);
    q.remove(1);
    assert.throws(() => q.remove(1), /not in the free queue/);
    assert.throws(() => q.pushFront(3), RangeError);
  });
});
