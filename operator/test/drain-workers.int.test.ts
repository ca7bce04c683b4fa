/**
 * Scale-down with real workers never loses a request. Two decode-capable workers on a real
 * nats-server each hold three long generations; the autoscaler (real collector, planner and
 * LocalProcessActuator over in-process workers) shrinks the pool to one. Expected:
 *
 *   - the plan asks for 1 decode replica; one victim is drained, the other worker is untouched
 *   - while draining, the victim's heartbeats say DRAINING and it is no longer counted
 *   - every one of the six requests streams all its tokens and finishes with LENGTH, no error
 *   - the victim is stopped only after its last request finished (0 held at stop time)
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FinishReason, KvTransportKind, WorkerState, createLogger, requestTyped, wire, type Subjects, type TokenChunk } from '@duet/core';
import { createModel } from '@duet/engine';
import { uniqueId, uniqueSubjects, withServers } from '@duet/testkit';
import { Worker, resolveWorkerConfig } from '@duet/worker';
import { connect, type NatsConnection } from 'nats';
import { LocalProcessActuator, startAutoscaler, type Autoscaler, type WorkerProcesses } from '../src/autoscaler/index.ts';
import { parseScalingPolicySpec, type PoolName } from '../src/planner/index.ts';

const silent = createLogger('test', { level: 'silent' });
const MAX_TOKENS = 600;

/** In-process workers behind the launcher's interface; records what each held when stopped. */
class InProcessWorkers implements WorkerProcesses {
  readonly workers = new Map<string, Worker>();
  readonly stoppedHolding = new Map<string, number>();
  readonly stoppedAt = new Map<string, number>();
  constructor(private readonly base: { natsUrl: string; subjects: Subjects; modelDir: string }) {}
  list(pool: PoolName): string[] {
    return pool === 'decode' ? [...this.workers.keys()] : [];
  }
  async spawn(): Promise<string> {
    const id = uniqueId('decode');
    const w = new Worker(
      resolveWorkerConfig({ workerId: id, role: 'both', natsUrl: this.base.natsUrl, subjectPrefix: this.base.subjects.prefix, modelDir: this.base.modelDir, numKvBlocks: 256, blockSize: 16, heartbeatIntervalMs: 100, loadReportIntervalMs: 50 }),
      { defaultMetrics: false, logger: silent },
    );
    await w.start();
    this.workers.set(id, w);
    return id;
  }
  async stop(id: string): Promise<void> {
    const w = this.workers.get(id)!;
    this.stoppedHolding.set(id, w.activeRuns);
    this.stoppedAt.set(id, Date.now());
    this.workers.delete(id);
    await w.stop();
  }
}

interface Outcome {
  workerId: string;
  tokens: number;
  finish: FinishReason;
  error: string | undefined;
  firstChunk: Promise<void>;
  finishedAt: number;
  done: Promise<void>;
}

function generate(nc: NatsConnection, subjects: Subjects, workerId: string, salt: number): Outcome {
  const requestId = uniqueId('req');
  const out = { workerId, tokens: 0, finish: FinishReason.UNSPECIFIED, error: undefined, finishedAt: 0 } as Outcome;
  let first!: () => void;
  out.firstChunk = new Promise((r) => (first = r));
  out.done = new Promise((resolve) => {
    const sub = nc.subscribe(subjects.tokens(requestId), {
      callback: (_e, m) => {
        const c: TokenChunk = wire.tokenChunk.decode(m.data);
        out.tokens += c.tokens.length;
        first();
        if (c.error) out.error = c.error.message;
        if (c.finishReason !== FinishReason.UNSPECIFIED) {
          out.finish = c.finishReason;
          out.finishedAt = Date.now();
          sub.unsubscribe();
          resolve();
        }
      },
    });
  });
  const prompt = Array.from({ length: 16 }, (_, i) => 3 + ((i * 37 + salt * 101) % 1000));
  void nc.flush().then(() =>
    requestTyped(nc, subjects.decodeRun(workerId), wire.decodeRequest, { requestId, model: '', promptTokenIds: prompt, sampling: { temperature: 0, topP: 1, maxTokens: MAX_TOKENS }, transferId: uniqueId('x'), transport: KvTransportKind.NATS, transferTimeoutMs: 3000, generated: [] }, wire.runAck, { timeoutMs: 5000 })
      .then((ack) => assert.ok(ack.accepted, `request to ${workerId} accepted`)),
  );
  return out;
}

async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let autoscaler: Autoscaler | undefined;
let procs: InProcessWorkers | undefined;
let nc: NatsConnection | undefined;
let root = '';
after(async () => {
  await autoscaler?.stop({ settle: false });
  await Promise.all([...(procs?.workers.values() ?? [])].map((w) => w.stop()));
  await nc?.drain();
  if (root) await rm(root, { recursive: true, force: true });
});
const servers = withServers();

test('a drain completes every in-flight request before the worker goes', async () => {
  root = await mkdtemp(join(tmpdir(), 'duet-drain-'));
  const modelDir = join(root, 'tiny');
  await createModel({ arch: 'llama', preset: 'tiny', seed: 3, outDir: modelDir });
  const subjects = uniqueSubjects();
  nc = await connect({ servers: servers.nats.url });
  procs = new InProcessWorkers({ natsUrl: servers.nats.url, subjects, modelDir });
  const [a, b] = [await procs.spawn(), await procs.spawn()];
  const policy = parseScalingPolicySpec({
    prefillToDecodeRatio: { min: 0, max: 4 },
    prefill: { minReplicas: 0, maxReplicas: 0 },
    // Sequences and KV use far below target: the plan is to shrink to the minimum at once.
    decode: { minReplicas: 1, maxReplicas: 2, scaleDown: { stabilizationWindowSeconds: 0 }, thresholds: { runningSequencesPerReplica: 1000, kvUtilization: 0.99 } },
  });
  const heldAtDrain: number[] = [];
  autoscaler = await startAutoscaler({ nc, subjects, logger: silent, policy, autoTick: false, drainPollMs: 25, actuator: (deps) => new LocalProcessActuator(procs!, deps) });

  const reqs = [0, 1, 2].flatMap((i) => [generate(nc!, subjects, a, i), generate(nc!, subjects, b, i + 10)]);
  await Promise.all(reqs.map((r) => r.firstChunk));
  const fleet = autoscaler.collector.fleet;
  await until('both workers beat and report load', () => fleet.live('decode').filter((w) => w.load !== null).length === 2);

  const p = await autoscaler.tick();
  assert.deepEqual(p.desired, { prefill: 0, decode: 1 });
  const [victim] = autoscaler.actuator.draining();
  assert.ok(victim === a || victim === b, `one of the two workers drains: ${autoscaler.actuator.draining().join(',')}`);
  const survivor = victim === a ? b : a;
  heldAtDrain.push(procs.workers.get(victim)!.activeRuns);
  assert.equal(heldAtDrain[0], 3, 'the victim holds its three requests when the drain starts');
  await until('the victim beats DRAINING', () => fleet.get(victim)?.state === WorkerState.DRAINING);
  assert.deepEqual(await autoscaler.actuator.current(), { prefill: 0, decode: 1 }, 'a draining worker no longer counts');

  const [result] = await autoscaler.actuator.settle();
  await Promise.all(reqs.map((r) => r.done));
  assert.equal(result.workerId, victim);
  assert.equal(result.outcome, 'drained');
  assert.equal(result.inflightAtStart, 3);
  for (const r of reqs) {
    assert.equal(r.error, undefined, `${r.workerId}: no error`);
    assert.equal(r.finish, FinishReason.LENGTH, `${r.workerId}: finished normally`);
    assert.equal(r.tokens, MAX_TOKENS, `${r.workerId}: every token streamed`);
  }
  assert.equal(procs.stoppedHolding.get(victim), 0, 'nothing held when stopped');
  const lastOfVictim = Math.max(...reqs.filter((r) => r.workerId === victim).map((r) => r.finishedAt));
  assert.ok(procs.stoppedAt.get(victim)! >= lastOfVictim, 'stopped after its last request finished');
  assert.deepEqual([...procs.workers.keys()], [survivor]);
  assert.equal(autoscaler.actuator.draining().length, 0);
});
