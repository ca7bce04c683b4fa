/**
 * NatsBackend against a real nats-server, with an in-test responder playing router + decode
 * workers over the real wire codecs (the real workers are built elsewhere).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from 'nats';
import { FinishReason, WorkerRole, WorkerState, createLogger, wire, type Subjects } from '@duet/core';
import { uniqueSubjects, withServers } from '@duet/testkit';
import { NatsBackend, NoCapacityError, BackendFailureError, toApiError, type BackendEvent, type BackendRequest } from '../src/index.ts';

const servers = withServers();

function request(id: string): BackendRequest {
  return { requestId: id, model: 'm', promptIds: [1, 2, 3], hashSalt: '', blockHashes: [], sampling: { temperature: 0, topP: 1, seed: 1, maxTokens: 3, stopTokenIds: [], logprobs: null } };
}

async function setup(): Promise<{ nc: NatsConnection; s: Subjects; backend: NatsBackend }> {
  const nc = await connect({ servers: servers.nats.url });
  const s = uniqueSubjects();
  const backend = new NatsBackend(nc, { subjects: s, logger: createLogger('gateway', { level: 'silent' }), placementTimeoutMs: 500, runAckTimeoutMs: 200, stallTimeoutMs: 200, transferTimeoutMs: 1000, transport: 'nats' });
  backend.start();
  return { nc, s, backend };
}

/** Router: places on the first worker of `workers` not excluded; records each request. */
function router(nc: NatsConnection, s: Subjects, workers: string[], seen: { exclude: string[]; attempt: number }[]): void {
  nc.subscribe(s.routerPlace(), {
    callback: (_e, m) => {
      const r = wire.placementRequest.decode(m.data);
      seen.push({ exclude: [...r.excludeWorkerIds], attempt: r.attempt });
      const w = workers.find((x) => !r.excludeWorkerIds.includes(x));
      m.respond(wire.placementResponse.encode(w ? { result: { case: 'placed', value: { decodeWorkerId: w, reason: 'test' } } } : { result: { case: 'noCapacity', value: { reason: 'full', retryAfterMs: 3000 } } }));
    },
  });
}

/** Decode worker: acks, then publishes one TokenChunk per seq (the last one finishing). */
function decodeWorker(nc: NatsConnection, s: Subjects, id: string, seqs: number[] = [0, 1, 2], finish = true): void {
  nc.subscribe(s.decodeRun(id), {
    callback: (_e, m) => {
      const r = wire.decodeRequest.decode(m.data);
      m.respond(wire.runAck.encode({ requestId: r.requestId, workerId: id, accepted: true }));
      seqs.forEach((seq, i) => {
        const last = finish && i === seqs.length - 1;
        nc.publish(s.tokens(r.requestId), wire.tokenChunk.encode({ requestId: r.requestId, seq, workerId: id, tokens: [{ tokenId: 10 + i }], finishReason: last ? FinishReason.LENGTH : FinishReason.UNSPECIFIED, usage: last ? { promptTokens: 3, completionTokens: 3, cachedTokens: 2 } : undefined }));
      });
    },
  });
}

async function collect(it: AsyncIterable<BackendEvent>): Promise<BackendEvent[]> {
  const out: BackendEvent[] = [];
  for await (const ev of it) out.push(ev);
  return out;
}

describe('NatsBackend', () => {
  it('placement → tokens → done, and ready() follows decode-worker heartbeats', async () => {
    const { nc, s, backend } = await setup();
    assert.equal(backend.ready(), false);
    nc.publish(s.workerHeartbeat('d1'), wire.workerHeartbeat.encode({ worker: { workerId: 'd1', role: WorkerRole.DECODE }, seq: 1n, state: WorkerState.READY, intervalMs: 1000 }));
    await nc.flush();
    while (!backend.ready()) await new Promise((r) => setTimeout(r, 5));
    router(nc, s, ['d1'], []);
    decodeWorker(nc, s, 'd1');
    const evs = await collect(backend.generate(request('r1'), new AbortController().signal));
    assert.deepEqual(evs.flatMap((e) => (e.type === 'tokens' ? e.tokens.map((t) => t.id) : [])), [10, 11, 12]);
    assert.deepEqual(evs.at(-1), { type: 'done', finishReason: 'length', usage: { promptTokens: 3, completionTokens: 3, cachedTokens: 2 } });
    await nc.close();
  });

  it('NoCapacity → NoCapacityError → HTTP 503 with Retry-After', async () => {
    const { nc, s, backend } = await setup();
    router(nc, s, [], []);
    const evs = await collect(backend.generate(request('r2'), new AbortController().signal));
    const ev = evs[0];
    assert.ok(ev.type === 'error' && ev.error instanceof NoCapacityError);
    const api = toApiError(ev.error);
    assert.deepEqual([api.status, api.retryAfterS], [503, 3]);
    await nc.close();
  });

  it('a decode worker that never acks → placement retried excluding it (attempt + 1)', async () => {
    const { nc, s, backend } = await setup();
    const seen: { exclude: string[]; attempt: number }[] = [];
    router(nc, s, ['silent', 'd2'], seen);
    nc.subscribe(s.decodeRun('silent'), { callback: () => undefined });
    decodeWorker(nc, s, 'd2');
    const evs = await collect(backend.generate(request('r3'), new AbortController().signal));
    assert.equal(evs.at(-1)?.type, 'done');
    assert.deepEqual(seen, [{ exclude: [], attempt: 0 }, { exclude: ['silent'], attempt: 1 }]);
    await nc.close();
  });

  it('a token-stream gap → error', async () => {
    const { nc, s, backend } = await setup();
    router(nc, s, ['d3'], []);
    decodeWorker(nc, s, 'd3', [0, 2, 3]);
    const evs = await collect(backend.generate(request('r4'), new AbortController().signal));
    const last = evs.at(-1)!;
    assert.ok(last.type === 'error' && last.error instanceof BackendFailureError && /expected chunk 1, got 2/.test(last.error.message));
    await nc.close();
  });

  it('abort (client disconnect) publishes CancelRequest on duet.cancel.<id>', async () => {
    const { nc, s, backend } = await setup();
    router(nc, s, ['d4'], []);
    decodeWorker(nc, s, 'd4', [0], false); // one chunk, never finishes
    const cancels: string[] = [];
    nc.subscribe(s.allCancels(), { callback: (_e, m) => cancels.push(wire.cancelRequest.decode(m.data).requestId) });
    const ctrl = new AbortController();
    const evs: BackendEvent[] = [];
    for await (const ev of backend.generate(request('r5'), ctrl.signal)) {
      evs.push(ev);
      ctrl.abort();
    }
    await nc.flush();
    while (cancels.length === 0) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(cancels, ['r5']);
    await nc.close();
  });

  it('a stream that stalls while its decode worker stops heartbeating is re-placed, resuming without repeats', async () => {
    const { nc, s, backend } = await setup();
    const seen: { exclude: string[]; attempt: number }[] = [];
    router(nc, s, ['dead', 'd6'], seen);
    decodeWorker(nc, s, 'dead', [0], false); // one token, then silence — and it never heartbeats
    const beat = setInterval(() => nc.publish(s.workerHeartbeat('d6'), wire.workerHeartbeat.encode({ worker: { workerId: 'd6', role: WorkerRole.DECODE }, seq: 1n, state: WorkerState.READY, intervalMs: 50 })), 20);
    const resumedWith: number[][] = [];
    nc.subscribe(s.decodeRun('d6'), {
      callback: (_e, m) => {
        const r = wire.decodeRequest.decode(m.data);
        resumedWith.push(r.generated.map((t) => t.tokenId));
        m.respond(wire.runAck.encode({ requestId: r.requestId, workerId: 'd6', accepted: true }));
        nc.publish(s.tokens(r.requestId), wire.tokenChunk.encode({ requestId: r.requestId, seq: 0, workerId: 'd6', tokens: [{ tokenId: 20 }, { tokenId: 21 }], finishReason: FinishReason.LENGTH, usage: { promptTokens: 3, completionTokens: 3, cachedTokens: 0 } }));
      },
    });
    try {
      const evs = await collect(backend.generate(request('r6'), new AbortController().signal));
      assert.deepEqual(evs.flatMap((e) => (e.type === 'tokens' ? e.tokens.map((t) => t.id) : [])), [10, 20, 21], 'the client sees each token once');
      assert.equal(evs.at(-1)?.type, 'done');
      assert.deepEqual(seen, [{ exclude: [], attempt: 0 }, { exclude: ['dead'], attempt: 1 }]);
      assert.deepEqual(resumedWith, [[10]], 'the new decode worker resumes after the streamed token');
    } finally {
      clearInterval(beat);
      await nc.close();
    }
  });
});
