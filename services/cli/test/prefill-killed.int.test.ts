/**
 * A prefill worker PROCESS dies mid-transfer: `kill -9`, not an in-process stop. The prefill worker
 * runs as `npm start` runs it (the launcher's `workerSpec` + `startChild`); the decode worker runs
 * in this process so its books can be read. Timeline (`small` model, a 2,048-token prompt, the
 * prefill worker computes it in 32-token steps, so its KV leaves over ~64 steps):
 *
 *   decode ◀── DecodeRequest (prefill elsewhere, transfer deadline 3 s)      beginImport: blocks held
 *   prefill ◀─ PrefillRequest ─▶ offer ─▶ accepted ─▶ KvChunk seq 0 on kvx.<t>.data
 *                                                      │ this test sees it ─▶ SIGKILL the process
 *   decode: no chunk for 3 s ─▶ abort(deadline) on kvx.<t>.ctl ─▶ release import ─▶ local prefill
 *   client ◀── every token, exactly what one engine gives for the same prompt and sampling
 *
 * Expected state afterwards: no `complete` was ever published (the kill landed mid-transfer), one
 * transfer fallback counted, the decode worker holds no blocks and no runs, the PrefillRequest
 * never got a reply. Every wait has a hard timeout; children are killed in an `after` hook that
 * runs before the servers stop.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FinishReason, KvAbortReason, KvTransportKind, WorkerState, createLogger, requestTyped, wire } from '@duet/core';
import { Engine, createModel, loadModel } from '@duet/engine';
import { uniqueId, uniqueSubjects, withServers } from '@duet/testkit';
import { Worker, resolveWorkerConfig } from '@duet/worker';
import { connect, type NatsConnection } from 'nats';
import { logTail, startChild, type Child } from '../src/launcher/children.ts';
import { workerSpec } from '../src/launcher/plan.ts';

const PROMPT_TOKENS = 2048;
const PREFILL_STEP_TOKENS = 32;
const TRANSFER_DEADLINE_MS = 3000;
/** The decode worker's engine shape; the expected answer comes from an engine of the same shape. */
const DECODE_ENGINE = { blockSize: 16, maxBatchTokens: 256, numKvBlocks: 160 };
const SAMPLING = { temperature: 0.9, topP: 0.95, seed: 4242, maxTokens: 8 };

/** Rejects with `what` after `ms` (the timer never keeps the process alive). */
function within<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what()}`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

async function eventually(cond: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function metricValue(w: Worker, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${w.metricsPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function expectedTokens(dir: string, promptIds: number[]): Promise<number[]> {
  const engine = await Engine.create(await loadModel(dir), DECODE_ENGINE);
  try {
    return engine.generate({ id: 'expected', promptIds, sampling: SAMPLING, ignoreEos: true }).newTokens.map((t) => t.id);
  } finally {
    engine.dispose();
  }
}

// Registered before withServers(): node:test runs `after` hooks in registration order, so the
// children die and the decode worker stops while NATS is still up.
const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});
const servers = withServers();

describe('a prefill worker process killed mid-transfer', () => {
  const subjects = uniqueSubjects();
  const prefillId = 'prefill-0'; // as the launcher names it; the subject prefix keeps it unique
  let work = '';
  let modelDir = '';
  let nc: NatsConnection;
  let decode: Worker;
  let prefill: Child;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'duet-prefill-killed-'));
    cleanups.push(() => rm(work, { recursive: true, force: true }));
    modelDir = join(work, 'small-llama');
    await createModel({ arch: 'llama', preset: 'small', seed: 21, outDir: modelDir });
    nc = await connect({ servers: servers.nats.url });
    cleanups.push(() => nc.drain());

    decode = new Worker(
      resolveWorkerConfig({ role: 'decode', workerId: uniqueId('decode'), natsUrl: servers.nats.url, subjectPrefix: subjects.prefix, modelDir, heartbeatIntervalMs: 200, ...DECODE_ENGINE }),
      { defaultMetrics: false, logger: createLogger('test', { level: 'silent' }) },
    );
    cleanups.push(() => decode.stop());
    await decode.start();

    // Subscribe to beats before the child exists, so its first READY beat cannot be missed.
    let resolveReady!: () => void;
    const ready = new Promise<void>((r) => (resolveReady = r));
    const beats = nc.subscribe(subjects.allWorkerHeartbeats(), {
      callback: (_err, m) => {
        const hb = wire.workerHeartbeat.decode(m.data);
        if (hb.worker?.workerId === prefillId && hb.state === WorkerState.READY) resolveReady();
      },
    });
    await nc.flush();
    const launch = { natsUrl: servers.nats.url, redisUrl: null, modelDir, port: 0, host: '127.0.0.1', prefill: 1, decode: 1, transport: 'nats' as const, backend: 'wasm' as const, kvCacheMib: 64 };
    const spec = workerSpec(launch, prefillId);
    spec.args.push('--subject-prefix', subjects.prefix, '--max-batch-tokens', String(PREFILL_STEP_TOKENS), '--heartbeat-interval-ms', '200');
    prefill = startChild(spec, work);
    cleanups.push(async () => {
      if (prefill.proc.exitCode === null && prefill.proc.signalCode === null) prefill.proc.kill('SIGKILL');
      await within(prefill.exited, 10_000, () => 'the prefill process to exit');
    });
    const diedEarly = prefill.exited.then(async (code) => {
      throw new Error(`prefill worker exited (code ${code}) before it was ready:\n${await logTail(prefill, 30)}`);
    });
    try {
      await within(Promise.race([ready, diedEarly]), 45_000, () => 'the prefill worker READY heartbeat');
    } finally {
      beats.unsubscribe();
      diedEarly.catch(() => undefined);
    }
  });

  test('the decode worker prefills locally, the client gets the exact tokens, nothing is stranded', { timeout: 60_000 }, async () => {
    const promptIds = Array.from({ length: PROMPT_TOKENS }, (_, i) => 3 + ((i * 37 + ((i * i) % 11) + 5) % 1000));
    const expected = await expectedTokens(modelDir, promptIds);
    const requestId = uniqueId('req');
    const transferId = uniqueId('xfer');

    // Watch the transfer: SIGKILL the prefill process as soon as its first KV chunk is on NATS.
    let chunksSeen = 0;
    const ctl: string[] = [];
    let abortReason: KvAbortReason | null = null;
    const dataSub = nc.subscribe(subjects.kvxData(transferId), {
      callback: () => {
        if (chunksSeen++ === 0) prefill.proc.kill('SIGKILL');
      },
    });
    const ctlSub = nc.subscribe(subjects.kvxCtl(transferId), {
      callback: (_err, m) => {
        const msg = wire.kvTransferControl.decode(m.data).msg;
        ctl.push(msg.case ?? 'empty');
        if (msg.case === 'abort') abortReason = msg.value.reason;
      },
    });
    let finished!: (c: { tokens: number[]; finish: FinishReason }) => void;
    const stream = new Promise<{ tokens: number[]; finish: FinishReason }>((r) => (finished = r));
    const tokens: number[] = [];
    const tokenSub = nc.subscribe(subjects.tokens(requestId), {
      callback: (_err, m) => {
        const c = wire.tokenChunk.decode(m.data);
        tokens.push(...c.tokens.map((t) => t.tokenId));
        if (c.finishReason !== FinishReason.UNSPECIFIED) finished({ tokens, finish: c.finishReason });
      },
    });
    await nc.flush();

    try {
      // What the gateway sends for a disaggregated placement.
      const common = { requestId, model: '', promptTokenIds: promptIds, sampling: SAMPLING, transferId, transport: KvTransportKind.NATS, transferTimeoutMs: TRANSFER_DEADLINE_MS };
      const ack = await requestTyped(nc, subjects.decodeRun(decode.config.workerId), wire.decodeRequest, { ...common, prefillWorkerId: prefillId }, wire.runAck, { timeoutMs: 5000 });
      assert.ok(ack.accepted, `decode refused: ${ack.error?.message}`);
      let prefillReplied = false;
      // A dead worker never answers; the pending request ends with its timeout or with nc.drain().
      requestTyped(nc, subjects.prefillRun(prefillId), wire.prefillRequest, { ...common, decodeWorkerId: decode.config.workerId }, wire.prefillResult, { timeoutMs: 30_000 }).then(
        () => (prefillReplied = true),
        () => undefined,
      );

      const exitCode = await within(prefill.exited, 20_000, () => `the SIGKILL (KV chunks seen: ${chunksSeen})`);
      assert.equal(exitCode, null);
      assert.equal(prefill.proc.signalCode, 'SIGKILL', 'the prefill process was killed, not stopped');

      const answer = await within(stream, 30_000, () => `the token stream (tokens so far ${tokens.length}, ctl ${ctl.join(',')})`);
      assert.deepEqual(answer.tokens, expected, 'local prefill gives the one-engine answer');
      assert.equal(answer.finish, FinishReason.LENGTH);

      assert.ok(chunksSeen >= 1, 'KV was moving when the process died');
      assert.ok(!ctl.includes('complete'), `the transfer never completed (ctl: ${ctl.join(',')})`);
      assert.equal(abortReason, KvAbortReason.DEADLINE_EXCEEDED, 'the receiver ended the transfer by its deadline');
      assert.equal(await metricValue(decode, 'duet_decode_transfer_fallbacks_total'), 1);
      await eventually(() => decode.engine.stats().blocks.usedBlocks === 0 && decode.activeRuns === 0, 5000, 'the decode worker back to no held blocks and no runs');
      assert.equal(prefillReplied, false, 'a dead prefill worker sends no PrefillResult');
    } finally {
      dataSub.unsubscribe();
      ctlSub.unsubscribe();
      tokenSub.unsubscribe();
    }
  });
});
