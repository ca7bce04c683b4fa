import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KvEventEmitter, type KvEvent } from '../../src/kv/kv-events.ts';
import { managerWithEvents, range } from './fixtures.ts';

const H0 = '0000000000000001';
const H1 = '0000000000000002';

void describe('KvEventEmitter', () => {
  void it('numbers events 1, 2, 3, … and skips empty stored/removed', () => {
    const bus = new KvEventEmitter();
    const seen: KvEvent[] = [];
    bus.onEvent((e) => seen.push(e));
    assert.equal(bus.lastSeq, 0);
    bus.emitStored(null, [H0, H1], 16);
    bus.emitStored(H1, [], 16); // nothing changed: no event, no seq
    bus.emitRemoved([]);
    bus.emitRemoved([H1]);
    bus.emitCleared();
    assert.deepEqual(seen, [
      { type: 'stored', seq: 1, parentHash: null, hashes: [H0, H1], blockSize: 16 },
      { type: 'removed', seq: 2, hashes: [H1] },
      { type: 'cleared', seq: 3 },
    ]);
    assert.equal(bus.lastSeq, 3);
    assert.ok(Object.isFrozen(seen[0]));
  });

  void it('counts seq even with no listener, and unsubscribe stops delivery', () => {
    const bus = new KvEventEmitter();
    bus.emitCleared(); // seq 1, nobody listening
    const seen: number[] = [];
    const off = bus.onEvent((e) => seen.push(e.seq));
    bus.emitCleared(); // seq 2
    off();
    off(); // idempotent
    bus.emitCleared(); // seq 3, unheard
    assert.deepEqual(seen, [2]);
    assert.equal(bus.lastSeq, 3);
  });

  void it('reports a throwing listener and still delivers to the others', () => {
    const reported: [unknown, number][] = [];
    const bus = new KvEventEmitter((err, e) => reported.push([err, e.seq]));
    const seen: number[] = [];
    bus.onEvent(() => {
      throw new Error('boom');
    });
    bus.onEvent((e) => seen.push(e.seq));
    bus.emitCleared();
    assert.deepEqual(seen, [1]);
    assert.equal(reported.length, 1);
    assert.match(String(reported[0][0]), /boom/);
    assert.equal(reported[0][1], 1);
  });

  void it('survives a reporter that throws too', (t) => {
    const logged = t.mock.method(console, 'error', () => {});
    const bus = new KvEventEmitter(() => {
      throw new Error('reporter down');
    });
    bus.onEvent(() => {
      throw new Error('boom');
    });
    bus.emitCleared();
    assert.equal(logged.mock.callCount(), 1);
  });

  void it('lets a listener unsubscribe during delivery without skipping others', () => {
    const bus = new KvEventEmitter();
    const seen: string[] = [];
    const offA = bus.onEvent(() => {
      seen.push('a');
      offA();
    });
    bus.onEvent(() => seen.push('b'));
    bus.emitCleared();
    bus.emitCleared();
    assert.deepEqual(seen, ['a', 'b', 'b']);
  });
});

void describe('BlockManager with a throwing listener', () => {
  void it('keeps its state and later events intact', () => {
    const errors: unknown[] = [];
    const { mgr, events } = managerWithEvents({ numBlocks: 4, blockSize: 4, onListenerError: (e) => errors.push(e) });
    mgr.onEvent(() => {
      throw new Error('listener bug');
    });
    mgr.openSequence('a', range(0, 8));
    assert.ok(mgr.allocateSlots('a', 8));
    mgr.commitTokens('a', range(0, 8)); // stored seq 1 despite the throwing listener
    assert.equal(mgr.numCommittedTokens('a'), 8);
    assert.equal(mgr.stats().cachedBlocks, 2);
    assert.equal(errors.length, 1);
    assert.deepEqual(events.map((e) => e.seq), [1]);
    assert.equal(mgr.snapshot().seq, 1);
  });

  void it('reports with console.error by default', (t) => {
    const logged = t.mock.method(console, 'error', () => {});
    const { mgr } = managerWithEvents({ numBlocks: 2, blockSize: 4 });
    mgr.onEvent(() => {
      throw new Error('listener bug');
    });
    assert.ok(mgr.resetPrefixCache());
    assert.equal(logged.mock.callCount(), 1);
    assert.match(String(logged.mock.calls[0].arguments[0]), /cleared seq=1/);
  });
});
