/**
 * The control loop end to end over a real nats-server with fake time: signals are only what is
 * pushed (heartbeats, LoadReports on allLoads, SloReports on allSlo), plans go to a
 * LocalProcessActuator over scripted processes. Expected:
 *
 *   t=0    2 decode workers, 64 sequences each at target 32/replica → grow to 4 in this tick
 *   t=15   load gone, but the 60 s scale-down window still holds t=0's 4 … until t=60
 *   t=75   the whole window [15, 75] asked for 1: shrink by the step limit (1) → 3, one drain
 *   gateway TTFT p90 over target grows the prefill pool; metrics follow the plan
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerRole, WorkerState, createLogger, createRegistry, wire, type Subjects } from '@duet/core';
import { uniqueSubjects, withServers } from '@duet/testkit';
import { connect, type NatsConnection } from 'nats';
import { LocalProcessActuator, startAutoscaler, type Autoscaler, type WorkerProcesses } from '../src/autoscaler/index.ts';
import { parseScalingPolicySpec, type PoolName } from '../src/planner/index.ts';

const silent = createLogger('test', { level: 'silent' });

/** Process ids only: spawned "workers" never run, so their drains find nobody ('gone'). */
class ScriptedProcesses implements WorkerProcesses {
  readonly pools: Record<PoolName, string[]> = { prefill: ['prefill-0'], decode: ['decode-0', 'decode-1'] };
  readonly stopped: string[] = [];
  private n = 2;
  list(pool: PoolName): string[] {
    return [...this.pools[pool]];
  }
  spawn(pool: PoolName): Promise<string> {
    const id = `${pool}-${this.n++}`;
    this.pools[pool].push(id);
    return Promise.resolve(id);
  }
  stop(id: string): Promise<void> {
    this.stopped.push(id);
    for (const p of ['prefill', 'decode'] as const) this.pools[p] = this.pools[p].filter((x) => x !== id);
    return Promise.resolve();
  }
}

let autoscaler: Autoscaler | undefined;
let nc: NatsConnection | undefined;
after(async () => {
  await autoscaler?.stop({ settle: false });
  await nc?.drain();
});
const servers = withServers();

async function push(subjects: Subjects, seq: bigint, sequencesEach: number): Promise<void> {
  for (const [id, role] of [['prefill-0', WorkerRole.PREFILL], ['decode-0', WorkerRole.DECODE], ['decode-1', WorkerRole.DECODE]] as const) {
    nc!.publish(subjects.workerHeartbeat(id), wire.workerHeartbeat.encode({ worker: { workerId: id, role }, seq, state: WorkerState.READY, intervalMs: 3_600_000 }));
    nc!.publish(subjects.load(id), wire.loadReport.encode({ workerId: id, seq, runningSeqs: role === WorkerRole.DECODE ? sequencesEach : 0, kvBlocksUsed: 1, kvBlocksFree: 99 }));
  }
  nc!.publish(subjects.allLoads().replace('*', 'junk'), new Uint8Array([0xff, 0xff, 0xff])); // malformed: dropped
  await nc!.flush();
}

test('the loop grows within one interval from pushed signals and shrinks only after its window', async () => {
  const subjects = uniqueSubjects();
  nc = await connect({ servers: servers.nats.url });
  let nowMs = 1_000_000;
  const procs = new ScriptedProcesses();
  const registry = createRegistry('autoscaler', { defaultMetrics: false });
  const policy = parseScalingPolicySpec({ decode: { scaleDown: { stabilizationWindowSeconds: 60 } }, prefill: { scaleDown: { stabilizationWindowSeconds: 60 } } });
  autoscaler = await startAutoscaler({ nc, subjects, logger: silent, policy, autoTick: false, now: () => nowMs, registry, actuator: (deps) => new LocalProcessActuator(procs, deps) });
  const fleet = autoscaler.collector.fleet;

  await push(subjects, 1n, 64);
  while (fleet.live('decode').filter((w) => w.load?.runningSeqs === 64).length < 2) await new Promise((r) => setTimeout(r, 5));
  const burst = await autoscaler.tick();
  assert.equal(burst.pools.decode.recommended, 4, '128 sequences / 32 per replica');
  assert.deepEqual(procs.list('decode'), ['decode-0', 'decode-1', 'decode-2', 'decode-3'], 'grown in the same tick');
  assert.match(await registry.getSingleMetricAsString('duet_autoscaler_desired_replicas'), /pool="decode"[^}]*} 4/);

  await push(subjects, 2n, 0);
  while (fleet.live('decode').some((w) => w.load?.runningSeqs !== 0)) await new Promise((r) => setTimeout(r, 5));
  for (const t of [15, 30, 45, 60]) {
    nowMs = 1_000_000 + t * 1000;
    const p = await autoscaler.tick();
    assert.equal(p.desired.decode, 4, `t=${t}: held by the window`);
  }
  nowMs = 1_000_000 + 75_000;
  const shrink = await autoscaler.tick();
  assert.equal(shrink.desired.decode, 3);
  const drains = await autoscaler.actuator.settle();
  assert.equal(drains.length, 1);
  // The idle, never-reporting newcomers go first, newest first: decode-3 (nobody answers: 'gone').
  assert.deepEqual([drains[0].workerId, drains[0].outcome], ['decode-3', 'gone']);
  assert.deepEqual(procs.stopped, ['decode-3']);
  assert.match(await registry.getSingleMetricAsString('duet_autoscaler_current_replicas'), /pool="decode"[^}]*} 4/);
  assert.match(await registry.getSingleMetricAsString('duet_autoscaler_drains_total'), /outcome="gone"[^}]*} 1/);
});

test('gateway TTFT p90 over target (pushed on allSlo) grows the prefill pool', async () => {
  const subjects = uniqueSubjects();
  const nc2 = await connect({ servers: servers.nats.url });
  try {
    const procs = new ScriptedProcesses();
    const a = await startAutoscaler({ nc: nc2, subjects, logger: silent, policy: parseScalingPolicySpec({}), autoTick: false, actuator: (deps) => new LocalProcessActuator(procs, deps) });
    nc2.publish(subjects.slo('gw-0'), wire.sloReport.encode({ sourceId: 'gw-0', seq: 1n, windowMs: 5000, finishedRequests: 20, ttftP90Ms: 6000, tpotP90Ms: 50 }));
    await nc2.flush();
    while (a.collector.fleet.signals(Date.now()).prefill.ttftP90Ms === null) await new Promise((r) => setTimeout(r, 5));
    const p = await a.tick();
    // 1 prefill replica at 3× its 2000 ms target → 3.
    assert.equal(p.desired.prefill, 3);
    assert.equal(p.pools.prefill.reasons[0].rule, 'ttft-p90');
    assert.deepEqual(procs.list('prefill'), ['prefill-0', 'prefill-2', 'prefill-3']);
    await a.stop();
  } finally {
    await nc2.drain();
  }
});
