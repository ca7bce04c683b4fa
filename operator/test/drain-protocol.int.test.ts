/**
 * The drain protocol over a real nats-server, between `drainWorker` (the actuator's side) and the
 * worker's `WorkerControl` endpoint on a scripted target: every outcome — drained, deadline
 * (the worker cancels what it still holds), timeout (no drained reply), gone (no worker).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerState, createLogger, type Subjects } from '@duet/core';
import { uniqueSubjects, withServers } from '@duet/testkit';
import { WorkerControl, type ControlTarget } from '@duet/worker';
import { connect, type NatsConnection } from 'nats';
import { drainWorker } from '../src/autoscaler/index.ts';

const silent = createLogger('test', { level: 'silent' });
const controls: WorkerControl[] = [];
after(() => controls.forEach((c) => c.stop()));
let nc: NatsConnection;
after(async () => {
  await nc?.drain();
});
const servers = withServers();
/** Each test's first step: the shared client (the servers start in withServers' before hook). */
async function client(): Promise<NatsConnection> {
  nc ??= await connect({ servers: servers.nats.url });
  return nc;
}

interface Scripted {
  held: number;
  cancelled: number;
  drainCalls: number;
  finish(): void;
  target: ControlTarget;
}

/** A worker stand-in holding `held` requests; `finish()` completes one. */
function scripted(workerId: string, held: number): Scripted {
  let state = WorkerState.READY;
  let resolveEmpty: (() => void) | null = null;
  const t: Scripted = {
    held,
    cancelled: 0,
    drainCalls: 0,
    finish(): void {
      t.held--;
      if (t.held === 0) resolveEmpty?.();
    },
    target: {
      workerId,
      state: () => state,
      inflight: () => t.held,
      drain: () => {
        t.drainCalls++;
        state = WorkerState.DRAINING;
        return t.held === 0 ? Promise.resolve() : new Promise<void>((r) => (resolveEmpty = r));
      },
      cancelAll: () => {
        t.cancelled += t.held;
        t.held = 0;
        resolveEmpty?.();
      },
    },
  };
  return t;
}

async function serve(subjects: Subjects, target: ControlTarget): Promise<void> {
  await client();
  const c = new WorkerControl({ nc, subjects, target, logger: silent });
  c.start();
  controls.push(c);
  await nc.flush();
}

test('drained: the drain resolves only after the last held request finished', async () => {
  const subjects = uniqueSubjects();
  const w = scripted('d0', 2);
  await serve(subjects, w.target);
  const finishes: number[] = [];
  setTimeout(() => (w.finish(), finishes.push(Date.now())), 150);
  setTimeout(() => (w.finish(), finishes.push(Date.now())), 300);
  const r = await drainWorker({ nc, subjects, workerId: 'd0', requesterId: 'test', timeoutMs: 10_000, pollMs: 20, logger: silent });
  const doneAt = Date.now();
  assert.equal(r.outcome, 'drained');
  assert.equal(r.inflightAtStart, 2);
  assert.equal(r.cancelled, 0);
  assert.equal(finishes.length, 2, 'both requests finished before the drain returned');
  assert.ok(doneAt >= finishes[1]);
  assert.equal(w.drainCalls, 1, 'drain requests are idempotent: polls are status queries');
});

test('deadline: the worker cancels what it still holds at deadline_ms and reports it; logged as not clean', async () => {
  const subjects = uniqueSubjects();
  const w = scripted('d1', 3);
  await serve(subjects, w.target);
  const r = await drainWorker({ nc, subjects, workerId: 'd1', requesterId: 'test', timeoutMs: 200, pollMs: 20, logger: silent });
  assert.equal(r.outcome, 'deadline');
  assert.equal(r.cancelled, 3);
  assert.equal(w.cancelled, 3);
});

test('timeout: a worker that never reports drained is given up on after timeout + grace', async () => {
  const subjects = uniqueSubjects();
  const w = scripted('d2', 1);
  // Ignores its deadline: a target whose cancel does nothing.
  await serve(subjects, { ...w.target, cancelAll: () => undefined });
  const r = await drainWorker({ nc, subjects, workerId: 'd2', requesterId: 'test', timeoutMs: 100, graceMs: 200, pollMs: 20, logger: silent });
  assert.equal(r.outcome, 'timeout');
  assert.equal(r.inflightAtStart, 1);
  assert.ok(r.waitedMs >= 300);
});

test('gone: no worker answers on its control subject', async () => {
  await client();
  const r = await drainWorker({ nc, subjects: uniqueSubjects(), workerId: 'nobody', requesterId: 'test', timeoutMs: 1000, pollMs: 20, logger: silent });
  assert.equal(r.outcome, 'gone');
});
