/**
 * Two router PROCESSES (services/router/src/main.ts, as deployed) on one NATS queue group and one
 * Redis: fake workers heartbeat, then many placements fire at once, split between the replicas by
 * NATS. With the least-load policy and shared accounting, the replicas decide as one router would:
 * every request is reserved exactly once in Redis, and the decode workers' reservations differ by at
 * most one request. Then completion events (which every replica receives) release everything once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { RequestPhase, WorkerRole, WorkerState, requestTyped, wire, type PlacementResponse } from '@duet/core';
import { uniqueKeyPrefix, uniqueSubjects, withServers } from '@duet/testkit';
import { connect, type NatsConnection } from 'nats';
import { RedisAccounting } from '../src/accounting/index.ts';

const MAIN = new URL('../src/main.ts', import.meta.url).pathname;
const DECODERS = ['d0', 'd1', 'd2', 'd3'];
const REQUESTS = 80;
const BLOCKS_PER_REQUEST = 5; // 64 prompt + 16 new tokens, block 16

const procs: ChildProcess[] = [];
let nc: NatsConnection | undefined;
after(async () => {
  await nc?.drain().catch(() => undefined);
  await Promise.all(procs.map((p) => new Promise<void>((res) => (p.exitCode !== null ? res() : (p.once('exit', () => res()), p.kill('SIGTERM'))))));
});
const servers = withServers({ redis: true });

function startRouter(id: string, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const p = spawn(process.execPath, ['--import', 'tsx', MAIN], { env: { ...process.env, ...env, DUET_ROUTER_ID: id, DUET_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(p);
  return new Promise((resolve, reject) => {
    let out = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"router ready"')) resolve(p);
    });
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.once('exit', (code) => reject(new Error(`router ${id} exited ${code}: ${out.slice(-2000)}`)));
  });
}

describe('two router processes sharing accounting through Redis', () => {
  const subjects = uniqueSubjects();
  const keyPrefix = uniqueKeyPrefix();
  let accounting: RedisAccounting;

  before(async () => {
    const env = { DUET_NATS_URL: servers.nats.url, DUET_SUBJECT_PREFIX: subjects.prefix, DUET_REDIS_URL: servers.redis.url, DUET_ACCOUNTING_KEY_PREFIX: keyPrefix, DUET_POLICY: 'least-load' };
    await Promise.all([startRouter('ra', env), startRouter('rb', env)]);
    accounting = new RedisAccounting({ redisUrl: servers.redis.url, keyPrefix });
    nc = await connect({ servers: servers.nats.url });
    for (const id of [...DECODERS, 'p0']) {
      const role = id === 'p0' ? WorkerRole.PREFILL : WorkerRole.DECODE;
      const worker = { workerId: id, role, model: 'm', capacity: { kvBlocksTotal: 10_000, blockSize: 16, maxRunningSeqs: 256 } };
      nc.publish(subjects.workerHeartbeat(id), wire.workerHeartbeat.encode({ worker, seq: 1n, state: WorkerState.READY, intervalMs: 60_000 }));
    }
    await nc.flush();
    await new Promise((r) => setTimeout(r, 300)); // both replicas see every beat (not a queue group)
  });
  after(() => accounting?.close());

  test('concurrent placements through both replicas: reserved once each, balanced as by one router', async () => {
    const place = (i: number) =>
      requestTyped(nc!, subjects.routerPlace(), wire.placementRequest, { requestId: `q${i}`, model: 'm', promptTokens: 64, maxTokens: 16, blockHashes: [`a${i}`, `b${i}`, `c${i}`, `d${i}`] }, wire.placementResponse, { timeoutMs: 10_000 });
    const replies: PlacementResponse[] = await Promise.all(Array.from({ length: REQUESTS }, (_, i) => place(i)));
    const decodes = replies.map((r) => (r.result.case === 'placed' ? r.result.value.decodeWorkerId : `not placed: ${r.result.case}`));
    const counts = DECODERS.map((d) => decodes.filter((x) => x === d).length);
    assert.equal(counts.reduce((a, b) => a + b, 0), REQUESTS, `every request placed: ${decodes.join(',')}`);
    const view = await accounting.read();
    const blocks = DECODERS.map((d) => view.loads.get(d)?.decodeBlocks ?? 0);
    assert.deepEqual(blocks, counts.map((c) => c * BLOCKS_PER_REQUEST), 'Redis holds exactly one reservation per placement');
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `balanced as one router: ${counts.join(',')}`);
  });

  test('completion events reach both replicas and release each reservation exactly once', async () => {
    const events = Array.from({ length: REQUESTS }, (_, i) => ({ requestId: `q${i}`, phase: RequestPhase.FINISHED }));
    // Each decode worker reports its own requests; here one batch per worker id is enough for every request.
    for (const d of DECODERS) nc!.publish(subjects.requestEvents(d), wire.requestEventBatch.encode({ workerId: d, events: events.map((e) => ({ ...e, workerId: d })) }));
    await nc!.flush();
    let view = await accounting.read();
    for (let i = 0; i < 50 && [...view.loads.values()].some((l) => l.decodeBlocks > 0); i++) {
      await new Promise((r) => setTimeout(r, 100));
      view = await accounting.read();
    }
    for (const d of [...DECODERS, 'p0']) assert.deepEqual(view.loads.get(d) ?? { prefillTokens: 0, decodeBlocks: 0, runningSeqs: 0 }, { prefillTokens: 0, decodeBlocks: 0, runningSeqs: 0 }, d);
  });
});
