/**
 * The round-robin policy and WorkerRegistry as pure functions of their inputs (an injected clock), with
 * the expected placements written out: id order, independent cursors, typed NoCapacity.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { PlacementRequestSchema, WorkerHeartbeatSchema, WorkerRole, WorkerState } from '@duet/core';
import { createLogger } from '@duet/core';
import { Router, WorkerRegistry, decide, loadPolicy, resolveRouterConfig, type LiveWorker } from '../src/index.ts';

const beat = (id: string, role: WorkerRole, seq = 1n, state = WorkerState.READY, model = 'm') =>
  create(WorkerHeartbeatSchema, { worker: { workerId: id, role, model }, seq, state, intervalMs: 100 });
const request = (init: { exclude?: string[]; model?: string } = {}) =>
  create(PlacementRequestSchema, { requestId: 'r', model: init.model ?? 'm', excludeWorkerIds: init.exclude ?? [] });

function fleetOf(...beats: ReturnType<typeof beat>[]): LiveWorker[] {
  const reg = new WorkerRegistry(3, () => 0);
  beats.forEach((b) => reg.observe(b));
  return reg.live();
}


describe('round-robin policy', () => {
  const policy = loadPolicy('round-robin');
  function picks(workers: LiveWorker[], n: number, req = request()): string[] {
    const state = { workers, loads: new Map(), reports: new Map(), matchPrefix: () => new Map<string, number>(), predictProfile: () => null, expertMix: () => null, expertPressure: () => null, random: () => 0 };
    return Array.from({ length: n }, () => {
      const r = decide(policy, req, state).response.result;
      if (r?.case === 'placed') return `${r.value.prefillWorkerId ?? '-'}→${r.value.decodeWorkerId}`;
      return r?.case ?? 'none';
    });
  }

  test('decode side rotates over decode|both in id order; prefill side has its own cursor', () => {
    const workers = fleetOf(beat('d2', WorkerRole.BOTH), beat('d1', WorkerRole.DECODE), beat('p1', WorkerRole.PREFILL));
    assert.deepEqual(picks(workers, 3), ['p1→d1', 'p1→d2', 'p1→d1']);
  });

  test('other models, draining and excluded workers are not candidates; none left → noCapacity', () => {
    const workers = fleetOf(beat('a', WorkerRole.DECODE), beat('b', WorkerRole.DECODE, 1n, WorkerState.DRAINING), beat('c', WorkerRole.DECODE, 1n, WorkerState.READY, 'other'));
    assert.deepEqual(picks(workers, 2), ['-→a', '-→a']);
    assert.deepEqual(picks(workers, 1, request({ exclude: ['a'] })), ['noCapacity']);
    assert.deepEqual(picks(workers, 1, request({ model: 'other' })), ['-→c']);
  });

  test('an empty fleet is a typed NoCapacity, never an exception', () => {
    assert.deepEqual(picks([], 1), ['noCapacity']);
  });
});

describe('WorkerRegistry', () => {
  test('expiry after missedBeats intervals; STOPPING removes at once; stale seqs ignored', () => {
    let t = 0;
    const reg = new WorkerRegistry(3, () => t);
    assert.equal(reg.observe(beat('w', WorkerRole.DECODE, 5n)), true, 'new worker');
    assert.equal(reg.observe(beat('w', WorkerRole.DECODE, 4n, WorkerState.DRAINING)), false);
    assert.equal(reg.live()[0].state, WorkerState.READY, 'an older beat does not overwrite');
    t = 300;
    assert.equal(reg.live().length, 1, 'exactly 3 intervals: still live');
    t = 301;
    assert.equal(reg.live().length, 0, 'past 3 intervals: dropped');
    reg.observe(beat('w', WorkerRole.DECODE, 1n)); // restarted process: seq from 1 again
    assert.equal(reg.live().length, 1);
    reg.observe(beat('w', WorkerRole.DECODE, 2n, WorkerState.STOPPING));
    assert.equal(reg.live().length, 0);
  });
});

test('a malformed PlacementRequest is answered with INVALID_REQUEST, not an exception', async () => {
  const router = new Router(resolveRouterConfig({}), { defaultMetrics: false, logger: createLogger('router', { level: 'silent' }) });
  const r = (await router.placeBytes(new Uint8Array([0xff, 0xff, 0xff]))).response.result;
  assert.equal(r?.case, 'error');
});
