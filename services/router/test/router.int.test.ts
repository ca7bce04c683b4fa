/**
 * The placement service against a real nats-server: heartbeats published by hand-written worker
 * fixtures, placements asked over NATS exactly as the gateway asks. A heartbeat and the placement
 * request that follows it go out on one connection, so the router always sees the beat first.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerRole, WorkerState, createLogger, requestTyped, wire, type PlacementResponse, type Subjects } from '@duet/core';
import { uniqueSubjects, withServers } from '@duet/testkit';
import { connect, type NatsConnection } from 'nats';
import { Router, resolveRouterConfig } from '../src/index.ts';

const servers = withServers();

interface Fleet {
  nc: NatsConnection;
  subjects: Subjects;
  router: Router;
  clock: { t: number };
  beat(id: string, role: WorkerRole, state?: WorkerState): void;
  place(exclude?: string[]): Promise<PlacementResponse>;
}

const seqs = new Map<string, bigint>();

async function fleet(): Promise<Fleet> {
  const subjects = uniqueSubjects();
  const clock = { t: 1_000_000 };
  const config = resolveRouterConfig({ natsUrl: servers.nats.url, subjectPrefix: subjects.prefix, missedBeats: 3, policy: 'round-robin' });
  const router = new Router(config, { now: () => clock.t, defaultMetrics: false, logger: createLogger('router', { level: 'silent' }) });
  await router.start();
  const nc = await connect({ servers: servers.nats.url });
  return {
    nc,
    subjects,
    router,
    clock,
    beat(id, role, state = WorkerState.READY) {
      const seq = (seqs.get(id) ?? 0n) + 1n;
      seqs.set(id, seq);
      const worker = { workerId: id, role, model: 'm' };
      nc.publish(subjects.workerHeartbeat(id), wire.workerHeartbeat.encode({ worker, seq, state, intervalMs: 1000 }));
    },
    place(exclude = []) {
      const req = { requestId: 'r', model: 'm', promptTokens: 4, excludeWorkerIds: exclude };
      return requestTyped(nc, subjects.routerPlace(), wire.placementRequest, req, wire.placementResponse, { timeoutMs: 2000 });
    },
  };
}

/** "prefill→decode" or "decode" or "no-capacity". */
function pick(r: PlacementResponse): string {
  if (r.result.case === 'placed') return [r.result.value.prefillWorkerId, r.result.value.decodeWorkerId].filter(Boolean).join('→');
  return r.result.case === 'noCapacity' ? 'no-capacity' : `error:${r.result.value?.message}`;
}

describe('router (round-robin placement)', () => {
  let f: Fleet;
  before(async () => (f = await fleet()));
  after(async () => {
    await f.router.stop();
    await f.nc.drain();
  });

  test('no decode worker → NoCapacity, typed', async () => {
    f.beat('p1', WorkerRole.PREFILL);
    const r = await f.place();
    assert.equal(r.result.case, 'noCapacity');
  });

  test('round-robin over decode workers, and over prefill workers; reasons say why', async () => {
    f.beat('d1', WorkerRole.DECODE);
    f.beat('d2', WorkerRole.BOTH);
    f.beat('p2', WorkerRole.PREFILL);
    const picks = [];
    for (let i = 0; i < 4; i++) picks.push(pick(await f.place()));
    // decode cursor walks d1, d2 (id order); prefill cursor walks p1, p2, independently.
    assert.deepEqual(picks, ['p1→d1', 'p2→d2', 'p1→d1', 'p2→d2']);
  });

  test('excluded and draining workers are never chosen', async () => {
    for (let i = 0; i < 3; i++) assert.match(pick(await f.place(['d1'])), /→d2$/);
    f.beat('d2', WorkerRole.BOTH, WorkerState.DRAINING);
    for (let i = 0; i < 3; i++) assert.match(pick(await f.place()), /→d1$/);
    assert.equal(pick(await f.place(['d1'])), 'no-capacity');
    f.beat('d2', WorkerRole.BOTH);
  });

  test('no usable prefill worker → decode-only placement whose reason says why', async () => {
    const r = await f.place(['p1', 'p2']);
    assert.equal(r.result.case, 'placed');
    assert.equal(r.result.value.prefillWorkerId, undefined);
    assert.equal(r.result.value.reason, 'round-robin: decode d1 (0.000); local prefill: no prefill worker passed the filters (healthy removed p1,p2)');
  });

  test('a worker missing 3 intervals drops out; a STOPPING beat drops it at once', async () => {
    f.clock.t += 2500; // 2.5 intervals: still live
    f.beat('d1', WorkerRole.DECODE);
    assert.equal(f.router.registry.live().length >= 4, true);
    f.clock.t += 1000; // d2, p1, p2 last beat 3.5 intervals ago; d1 1 interval ago
    assert.deepEqual(pick(await f.place()), 'd1');
    f.beat('d1', WorkerRole.DECODE, WorkerState.STOPPING);
    assert.equal(pick(await f.place()), 'no-capacity');
    assert.equal(f.router.registry.live().length, 0);
  });
});
