/**
 * A `both` worker (aggregated prefill + decode) against a real nats-server, dense and MoE: the
 * token stream equals one engine's `generate` (greedy and seeded), presence (heartbeat, KV events,
 * snapshot, load report) and metrics are published, invalid requests are refused in the RunAck,
 * resumed requests continue exactly, and drain finishes in-flight work while refusing new work.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, FinishReason, WorkerRole, WorkerState, requestTyped, wire, type KvEventBatch, type WorkerHeartbeat } from '@duet/core';
import { uniqueSubjects, withServers } from '@duet/testkit';
import { connect, type NatsConnection } from 'nats';
import type { Worker } from '../src/index.ts';
import { GREEDY, SEEDED, eventually, expectedTokens, modelDir, promptOf, runRequest, startWorker, usedBlocks } from './helpers.ts';

const servers = withServers();

for (const arch of ['llama', 'moe'] as const) {
  describe(`both worker serves a DecodeRequest end to end (${arch})`, () => {
    const subjects = uniqueSubjects();
    let model: Awaited<ReturnType<typeof modelDir>>;
    let worker: Worker;
    let nc: NatsConnection;
    const beats: WorkerHeartbeat[] = [];
    const kvBatches: KvEventBatch[] = [];

    before(async () => {
      model = await modelDir(arch);
      nc = await connect({ servers: servers.nats.url });
      nc.subscribe(subjects.allWorkerHeartbeats(), { callback: (_e, m) => beats.push(wire.workerHeartbeat.decode(m.data)) });
      nc.subscribe(subjects.allKvEvents(), { callback: (_e, m) => kvBatches.push(wire.kvEventBatch.decode(m.data)) });
      await nc.flush();
      worker = await startWorker({ natsUrl: servers.nats.url, subjects, modelDir: model.dir }, { role: 'both' });
    });
    after(async () => {
      await worker.stop();
      await nc.drain();
      await model.cleanup();
    });

    for (const [name, sampling] of [['greedy', GREEDY], ['seeded', SEEDED]] as const) {
      test(`tokens equal Engine.generate (${name}); seq contiguous; usage`, async () => {
        const prompt = promptOf(13, 2);
        const r = await runRequest(nc, subjects, { promptIds: prompt, sampling, decodeWorkerId: worker.config.workerId });
        assert.ok(r.ack.accepted);
        assert.deepEqual(r.tokens, await expectedTokens(model.dir, prompt, sampling));
        assert.deepEqual(r.chunks.map((c) => c.seq), r.chunks.map((_, i) => i));
        assert.equal(r.finish, FinishReason.LENGTH);
        assert.equal(r.usage?.promptTokens, 13);
        assert.equal(r.usage?.completionTokens, 8);
        assert.equal(usedBlocks(worker), 0, 'every block is free again');
      });
    }

    test('a resumed request continues after `generated` without repeating it', async () => {
      const prompt = promptOf(10, 3);
      const full = await expectedTokens(model.dir, prompt, SEEDED);
      const generated = full.slice(0, 3).map((tokenId) => ({ tokenId }));
      const r = await runRequest(nc, subjects, { promptIds: prompt, sampling: SEEDED, decodeWorkerId: worker.config.workerId, generated: generated as never });
      assert.deepEqual(r.tokens, full.slice(3));
      assert.equal(usedBlocks(worker), 0);
    });

    test('an invalid request is refused in the RunAck with INVALID_REQUEST and its param', async () => {
      const r = await runRequest(nc, subjects, { promptIds: [], sampling: GREEDY, decodeWorkerId: worker.config.workerId });
      assert.equal(r.ack.accepted, false);
      assert.equal(r.ack.error?.code, ErrorCode.INVALID_REQUEST);
      assert.equal(r.ack.error?.param, 'prompt');
    });

    test('a model the worker does not serve is refused with NOT_FOUND; its own name is accepted', async () => {
      const other = await runRequest(nc, subjects, { promptIds: [5, 6], sampling: GREEDY, decodeWorkerId: worker.config.workerId, model: 'no-such-model' });
      assert.equal(other.ack.error?.code, ErrorCode.NOT_FOUND);
      const own = await runRequest(nc, subjects, { promptIds: [5, 6], sampling: GREEDY, decodeWorkerId: worker.config.workerId, model: `tiny-${arch}` });
      assert.ok(own.ack.accepted);
    });

    test('presence: heartbeats with full info, KV events in seq order, snapshot, load report, metrics', async () => {
      const mine = beats.filter((b) => b.worker?.workerId === worker.config.workerId);
      assert.ok(mine.length >= 1);
      const info = mine[mine.length - 1].worker!;
      assert.equal(info.role, WorkerRole.BOTH);
      assert.equal(info.capacity?.blockSize, 4);
      assert.equal(mine[mine.length - 1].state, WorkerState.READY);
      const seqs = kvBatches.flatMap((b) => b.events.map((e) => Number(e.seq)));
      assert.ok(seqs.length > 0);
      assert.deepEqual(seqs, seqs.map((_, i) => i + 1), 'events arrive once each, in order, from seq 1');
      const snap = await requestTyped(nc, subjects.kvSnapshot(worker.config.workerId), wire.kvSnapshotRequest, { requesterId: 't' }, wire.kvSnapshotResponse, { timeoutMs: 2000 });
      assert.equal(Number(snap.seq), seqs[seqs.length - 1]);
      assert.ok(snap.hashes.length > 0);
      const loadP = new Promise<ReturnType<typeof wire.loadReport.decode>>((resolve) => {
        nc.subscribe(subjects.load(worker.config.workerId), { max: 1, callback: (_e, m) => resolve(wire.loadReport.decode(m.data)) });
      });
      await nc.flush();
      await runRequest(nc, subjects, { promptIds: promptOf(5, 9), sampling: GREEDY, decodeWorkerId: worker.config.workerId });
      const load = await loadP;
      assert.equal(load.workerId, worker.config.workerId);
      if (arch === 'moe') assert.ok(load.expertTokens.length > 0);
      const text = await (await fetch(`http://127.0.0.1:${worker.metricsPort}/metrics`)).text();
      for (const m of ['queue_depth', 'running_requests', 'kv_blocks_used', 'kv_blocks_free', 'prefix_hit_tokens_total', 'ttft_seconds', 'inter_token_latency_seconds', 'transfer_fallbacks_total']) {
        assert.match(text, new RegExp(`duet_both_${m}`));
      }
    });

    test('drain finishes in-flight requests, refuses new ones, then resolves', async () => {
      const prompt = promptOf(12, 5);
      const sampling = { ...GREEDY, maxTokens: 24 };
      let firstChunk!: () => void;
      const started = new Promise<void>((r) => (firstChunk = r));
      const inflight = runRequest(nc, subjects, { promptIds: prompt, sampling, decodeWorkerId: worker.config.workerId, onChunk: () => firstChunk() });
      await started;
      const drained = worker.drain();
      const refused = await runRequest(nc, subjects, { promptIds: prompt, sampling, decodeWorkerId: worker.config.workerId });
      assert.equal(refused.ack.accepted, false);
      assert.equal(refused.ack.error?.code, ErrorCode.UNAVAILABLE);
      const r = await inflight;
      assert.deepEqual(r.tokens, await expectedTokens(model.dir, prompt, sampling));
      await drained;
      assert.equal(worker.activeRuns, 0);
      await eventually(() => beats.some((b) => b.worker?.workerId === worker.config.workerId && b.state === WorkerState.DRAINING), 2000, 'a draining beat');
    });
  });
}
