/**
 * The fleet view and its reduction to planner signals: pools by role, only live READY workers
 * count, STOPPING and silent workers drop out, stale reports are ignored, SLO p90s are averaged by
 * finished requests over the window, and no data is null (never zero).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { LoadReportSchema, SloReportSchema, WorkerHeartbeatSchema, WorkerRole, WorkerState, type LoadReport } from '@duet/core';
import { Fleet, pickVictims } from '../src/autoscaler/index.ts';

const beat = (id: string, role: WorkerRole, seq: bigint, state = WorkerState.READY) =>
  create(WorkerHeartbeatSchema, { worker: { workerId: id, role }, seq, state, intervalMs: 1000 });
const load = (id: string, seq: bigint, f: Partial<Omit<LoadReport, '$typeName'>>) => create(LoadReportSchema, { workerId: id, seq, ...f });
const slo = (finished: number, ttft: number, tpot: number) => create(SloReportSchema, { sourceId: 'gw', finishedRequests: finished, ttftP90Ms: ttft, tpotP90Ms: tpot });
const fleet = () => new Fleet({ missedBeats: 3, sloWindowMs: 15_000 });

test('no worker and no gateway reported: every signal is null', () => {
  assert.deepEqual(fleet().signals(0), {
    prefill: { queuedPromptTokens: null, ttftP90Ms: null },
    decode: { kvUtilization: null, runningSequences: null, tpotP90Ms: null },
  });
});

test('prefill sums pending prompt tokens; decode (and both) workers give KV utilisation and sequences', () => {
  const f = fleet();
  f.onHeartbeat(beat('p0', WorkerRole.PREFILL, 1n), 0);
  f.onHeartbeat(beat('p1', WorkerRole.PREFILL, 1n), 0);
  f.onHeartbeat(beat('d0', WorkerRole.DECODE, 1n), 0);
  f.onHeartbeat(beat('b0', WorkerRole.BOTH, 1n), 0);
  f.onLoad(load('p0', 1n, { inflightPrefillTokens: 1000, runningSeqs: 2 }));
  f.onLoad(load('p1', 1n, { inflightPrefillTokens: 500 }));
  f.onLoad(load('d0', 1n, { runningSeqs: 10, waitingSeqs: 2, kvBlocksUsed: 30, kvBlocksFree: 70 }));
  f.onLoad(load('b0', 1n, { runningSeqs: 4, kvBlocksUsed: 50, kvBlocksFree: 50 }));
  const s = f.signals(500);
  assert.equal(s.prefill.queuedPromptTokens, 1500);
  assert.equal(s.decode.runningSequences, 16, '10 + 2 waiting + 4');
  assert.equal(s.decode.kvUtilization, 0.4, 'mean of 0.3 and 0.5');
  assert.deepEqual(f.live('decode').map((w) => w.workerId), ['b0', 'd0']);
});

test('draining workers do not count; STOPPING and silent workers are forgotten', () => {
  const f = fleet();
  f.onHeartbeat(beat('d0', WorkerRole.DECODE, 1n), 0);
  f.onHeartbeat(beat('d1', WorkerRole.DECODE, 1n), 0);
  f.onHeartbeat(beat('d2', WorkerRole.DECODE, 1n), 0);
  for (const id of ['d0', 'd1', 'd2']) f.onLoad(load(id, 1n, { runningSeqs: 5 }));
  f.onHeartbeat(beat('d1', WorkerRole.DECODE, 2n, WorkerState.DRAINING), 100);
  f.onHeartbeat(beat('d2', WorkerRole.DECODE, 2n, WorkerState.STOPPING), 100);
  assert.equal(f.signals(200).decode.runningSequences, 5, 'only d0 counts');
  assert.deepEqual(f.live().map((w) => w.workerId), ['d0', 'd1'], 'the draining worker is still live');
  // No beat from d0 since t=0: gone after 3 × 1000 ms; d1 beat at t=100.
  f.signals(3050);
  assert.deepEqual(f.live().map((w) => w.workerId), ['d1']);
  assert.equal(f.signals(3050).decode.runningSequences, null);
});

test('older heartbeats and load reports are ignored; a restarted worker (seq 1) is not', () => {
  const f = fleet();
  f.onHeartbeat(beat('d0', WorkerRole.DECODE, 5n), 0);
  f.onHeartbeat(beat('d0', WorkerRole.DECODE, 4n, WorkerState.DRAINING), 10);
  assert.equal(f.get('d0')?.state, WorkerState.READY);
  f.onLoad(load('d0', 7n, { runningSeqs: 9 }));
  f.onLoad(load('d0', 6n, { runningSeqs: 1 }));
  assert.equal(f.get('d0')?.load?.runningSeqs, 9);
  f.onLoad(load('d0', 1n, { runningSeqs: 2 }));
  assert.equal(f.get('d0')?.load?.runningSeqs, 2);
  f.onLoad(load('unknown', 1n, { runningSeqs: 2 }));
  assert.equal(f.get('unknown'), undefined, 'a report before the first beat is dropped');
});

test('SLO p90s are averaged weighted by finished requests, over the window only', () => {
  const f = fleet();
  f.onSlo(slo(30, 1000, 50), 0);
  f.onSlo(slo(10, 3000, 150), 5000);
  f.onSlo(slo(0, 0, 0), 6000); // an idle window says nothing
  const s = f.signals(10_000);
  assert.equal(s.prefill.ttftP90Ms, 1500, '(30 × 1000 + 10 × 3000) / 40');
  assert.equal(s.decode.tpotP90Ms, 75);
  assert.equal(f.signals(15_001).prefill.ttftP90Ms, 3000, 'the t=0 report left the 15 s window');
  assert.equal(f.signals(30_000).prefill.ttftP90Ms, null);
});

test('victims: least held work first, then workers that never reported, then the highest id', () => {
  const f = fleet();
  for (const id of ['d-2', 'd-9', 'd-10', 'd-11']) f.onHeartbeat(beat(id, WorkerRole.DECODE, 1n), 0);
  f.onLoad(load('d-2', 1n, { runningSeqs: 0 }));
  f.onLoad(load('d-9', 1n, { runningSeqs: 3 }));
  f.onLoad(load('d-10', 1n, { runningSeqs: 1 }));
  // d-11 has not reported yet; 'starting' has not even beaten.
  assert.deepEqual(pickVictims(['d-2', 'd-9', 'd-10', 'd-11', 'starting'], 5, f), ['starting', 'd-11', 'd-2', 'd-10', 'd-9']);
  assert.deepEqual(pickVictims(['d-9', 'd-10'], 1, f), ['d-10']);
  assert.deepEqual(pickVictims(['d-9'], 0, f), []);
});
