/**
 * PendingPrefixes: a just-placed prompt counts as held by its workers until its KV events arrive
 * (TTL), matched by chained-hash samples; and the router's prefix match takes the larger of the
 * index and the pending record, so a burst sharing a new prefix follows the first placement.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { PlacementRequestSchema, WorkerHeartbeatSchema, WorkerRole, WorkerState, createLogger } from '@duet/core';
import { PendingPrefixes } from '../src/index/pending-prefixes.ts';
import { FleetState, InMemoryAccounting, LivePolicy, PolicyPlacer, WorkerRegistry } from '../src/index.ts';

const chain = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag}${i}`);

describe('PendingPrefixes', () => {
  test('a recorded prompt matches its shared prefix, to within the stride', () => {
    const p = new PendingPrefixes({ stride: 8, now: () => 0 });
    p.record(chain('a', 20), ['p1', 'd1']);
    assert.deepEqual(p.match([...chain('a', 18), 'x', 'y']), new Map([['p1', 16], ['d1', 16]]));
    assert.deepEqual(p.match(chain('a', 20)), new Map([['p1', 20], ['d1', 20]]), 'the last block is recorded too');
    assert.deepEqual(p.match(chain('b', 20)), new Map());
    assert.deepEqual(p.match(chain('a', 5)), new Map(), 'shorter than one stride and not the recorded last block');
  });

  test('entries expire after the TTL, leave with their worker, and are bounded', () => {
    let t = 0;
    const p = new PendingPrefixes({ stride: 4, ttlMs: 1000, capacity: 4, now: () => t });
    p.record(chain('a', 8), ['p1']);
    p.record(chain('b', 8), ['p2']);
    assert.equal(p.match(chain('a', 8)).get('p1'), 8);
    p.removeWorker('p2');
    assert.deepEqual(p.match(chain('b', 8)), new Map());
    t = 1001;
    assert.deepEqual(p.match(chain('a', 8)), new Map(), 'expired');
    p.record(chain('c', 40), ['p3']);
    assert.equal(p.size, 4);
  });
});

test('a burst sharing a new prefix follows the first placement before any KV event arrives', async () => {
  const registry = new WorkerRegistry(10, () => 0);
  for (const [id, role] of [['p1', WorkerRole.PREFILL], ['p2', WorkerRole.PREFILL], ['d1', WorkerRole.DECODE], ['d2', WorkerRole.DECODE]] as const) {
    registry.observe(create(WorkerHeartbeatSchema, { worker: { workerId: id, role, model: 'm', capacity: { kvBlocksTotal: 10_000, blockSize: 16, maxRunningSeqs: 64 } }, seq: 1n, state: WorkerState.READY, intervalMs: 1000 }));
  }
  const logger = createLogger('t', { level: 'silent' });
  const placer = new PolicyPlacer(new FleetState(registry, Math.random), new InMemoryAccounting(), new LivePolicy('prefix-load', logger), logger);
  const system = chain('sys', 32);
  const picks = [];
  for (let i = 0; i < 6; i++) {
    const req = create(PlacementRequestSchema, { requestId: `r${i}`, model: 'm', blockHashes: [...system, `q${i}`], promptTokens: 33 * 16, maxTokens: 8 });
    const r = (await placer.place(req)).decision.response.result;
    assert.equal(r?.case, 'placed');
    picks.push(r.case === 'placed' ? r.value.prefillWorkerId : '');
  }
  assert.equal(new Set(picks).size, 1, `every request prefilled where the first one was: ${picks.join(',')}`);
});
