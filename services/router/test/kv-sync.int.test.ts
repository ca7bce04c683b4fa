/**
 * KvEventSync against a real nats-server: hand-written fake workers publish KvEventBatch and answer
 * KvSnapshotRequest the way services/worker/src/presence.ts does (pending events go out before
 * the reply). Each test checks the index converges to exactly the fake's blocks and seq.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, wire, type Subjects } from '@duet/core';
import { uniqueSubjects, withServers } from '@duet/testkit';
import { connect, type Msg, type NatsConnection } from 'nats';
import { KvEventSync, PrefixIndex, type KvEventSyncOptions, type KvEventSyncTimers } from '../src/index/index.ts';
import { blk, blks, cleared, removed, stored } from './index-fixtures.ts';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});
const servers = withServers();

const silent = createLogger('router', { level: 'silent' });

type EventInit = ReturnType<typeof stored>;

/** A worker's KV presence, by hand: its cache (a Set), a seq counter, a snapshot responder. */
class FakeWorker {
  seq = 0;
  readonly held = new Set<string>();
  snapshotRequests = 0;
  /** Requests left to ignore (the router's request times out). */
  ignoreRequests = 0;
  /** Requests held back, answered by releaseHeld(). */
  holdReplies = false;
  private heldMsgs: Msg[] = [];
  private pending: EventInit[] = [];
  /** Run just before / after the reply (events the worker emits around its snapshot). */
  beforeReply: (() => void) | null = null;
  afterReply: (() => void) | null = null;

  constructor(
    readonly id: string,
    readonly nc: NatsConnection,
    readonly subjects: Subjects,
  ) {}

  serveSnapshots(): void {
    const sub = this.nc.subscribe(this.subjects.kvSnapshot(this.id), {
      callback: (_err, msg) => {
        this.snapshotRequests++;
        if (this.ignoreRequests > 0) return void this.ignoreRequests--;
        if (this.holdReplies) return void this.heldMsgs.push(msg);
        this.reply(msg);
      },
    });
    cleanups.push(() => sub.unsubscribe());
  }

  releaseHeld(): void {
    for (const m of this.heldMsgs.splice(0)) this.reply(m);
  }

  private reply(msg: Msg): void {
    this.beforeReply?.();
    this.publish();
    msg.respond(wire.kvSnapshotResponse.encode({ workerId: this.id, seq: BigInt(this.seq), blockSize: 16, hashes: [...this.held] }));
    this.afterReply?.();
  }

  store(hashes: string[]): this {
    hashes.forEach((h) => this.held.add(h));
    this.pending.push(stored(++this.seq, hashes));
    return this;
  }

  remove(hashes: string[]): this {
    hashes.forEach((h) => this.held.delete(h));
    this.pending.push(removed(++this.seq, hashes));
    return this;
  }

  clear(): this {
    this.held.clear();
    this.pending.push(cleared(++this.seq));
    return this;
  }

  /** Publishes the pending events as one batch; `lose` drops them instead (a lost message). */
  publish(opts: { lose?: boolean } = {}): void {
    const events = this.pending.splice(0);
    if (events.length === 0 || opts.lose) return;
    this.nc.publish(this.subjects.kvEvents(this.id), wire.kvEventBatch.encode({ workerId: this.id, events }));
  }

  /** Publishes raw events (duplicates, replays) without touching the fake's state. */
  publishRaw(events: EventInit[]): void {
    this.nc.publish(this.subjects.kvEvents(this.id), wire.kvEventBatch.encode({ workerId: this.id, events }));
  }
}

interface Rig {
  subjects: Subjects;
  index: PrefixIndex;
  sync: KvEventSync;
  routerNc: NatsConnection;
  workerNc: NatsConnection;
  /** A fake worker; its snapshot responder (unless serve: false) is live on the server. */
  worker(id: string, opts?: { serve?: boolean }): Promise<FakeWorker>;
  /** Both connections flushed: everything published so far has reached the router's callbacks. */
  settle(): Promise<void>;
}

async function rig(opts: Partial<KvEventSyncOptions> = {}): Promise<Rig> {
  const subjects = uniqueSubjects();
  const routerNc = await connect({ servers: servers.nats.url });
  const workerNc = await connect({ servers: servers.nats.url });
  const index = new PrefixIndex();
  const sync = new KvEventSync({ nc: routerNc, subjects, index, requesterId: 'router-test', logger: silent, random: () => 0.5, ...opts });
  cleanups.push(async () => {
    sync.stop();
    await routerNc.close();
    await workerNc.close();
  });
  return {
    subjects,
    index,
    sync,
    routerNc,
    workerNc,
    async worker(id, o = {}) {
      const w = new FakeWorker(id, workerNc, subjects);
      if (o.serve ?? true) w.serveSnapshots();
      await workerNc.flush();
      return w;
    },
    async settle() {
      await workerNc.flush();
      await routerNc.flush();
    },
  };
}

/** Polls until `cond` holds (no fixed sleep); fails naming `what` after 5 s. */
async function waitFor(cond: () => boolean, what: string | (() => string)): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Waits until no snapshot is pending, then checks the index holds exactly what the fake holds. */
async function converged(r: Rig, ...workers: FakeWorker[]): Promise<void> {
  await r.settle();
  await waitFor(() => r.sync.pendingSnapshots().length === 0, 'no snapshot pending');
  for (const w of workers) {
    assert.deepEqual(r.index.hashesOf(w.id).sort(), [...w.held].sort(), `${w.id}'s blocks`);
    assert.equal(r.index.lastSeqOf(w.id), w.seq, `${w.id}'s seq`);
    assert.equal(r.index.needsSnapshot(w.id), false);
  }
}

/** Timers the test fires by hand; records each delay. */
function manualTimers(): KvEventSyncTimers & { delays: number[]; fire(): void; queued(): number } {
  const queue: Array<() => void> = [];
  const delays: number[] = [];
  return {
    delays,
    setTimeout(fn, ms) {
      delays.push(ms);
      queue.push(fn);
      return queue.length;
    },
    clearTimeout() {},
    fire() {
      queue.shift()?.();
    },
    queued: () => queue.length,
  };
}

describe('KvEventSync (real NATS)', () => {
  test('router start: every known worker is asked for a snapshot', async () => {
    const r = await rig();
    const w1 = (await r.worker('w1')).store(blks(0, 8));
    const w2 = (await r.worker('w2')).store(blks(4, 6)).remove([blk(4)]);
    w1.publish();
    w2.publish(); // before the router subscribed: lost to it
    await r.settle();
    await r.sync.start(['w1', 'w2']);
    await converged(r, w1, w2);
    // w1 = {0..7} at seq 1, w2 = {5} at seq 2
    const c = r.sync.counters();
    assert.equal(c.snapshotsRequested, 2);
    assert.equal(c.snapshotsLoaded, 2);
    assert.deepEqual([...r.index.match(blks(0, 8))], [['w1', 8]]);
  });

  test('a worker the registry newly sees gets one snapshot; a followed worker gets none', async () => {
    const r = await rig();
    await r.sync.start();
    const w3 = (await r.worker('w3')).store(blks(0, 3));
    w3.publish({ lose: true });
    r.sync.onWorkerSeen('w3');
    await converged(r, w3);
    r.sync.onWorkerSeen('w3');
    await r.settle();
    assert.equal(w3.snapshotRequests, 1);
    // An idle worker with an empty cache: a snapshot at seq 0.
    const w4 = await r.worker('w4');
    r.sync.onWorkerSeen('w4');
    await converged(r, w4);
    assert.equal(r.index.hasWorker('w4'), true);
  });

  test('a worker first seen mid-stream is resynced; its next events apply on top', async () => {
    const r = await rig();
    const w = (await r.worker('w1')).store(blks(0, 4));
    w.publish(); // seq 1, before the router listens
    await r.settle();
    await r.sync.start();
    w.store(blks(4, 6)).publish(); // seq 2: first seen mid-stream
    await converged(r, w);
    w.remove([blk(0)]).publish();
    await converged(r, w);
    const c = r.sync.counters();
    assert.equal(c.newWorkers, 1);
    assert.equal(c.gaps, 0);
    assert.equal(c.snapshotsLoaded, 1);
    assert.equal(r.index.match(blks(0, 6)).size, 0); // block 0 evicted: no leading run
  });

  test('gap → snapshot; events published around the reply are not lost', async () => {
    const r = await rig();
    await r.sync.start();
    const w = await r.worker('w1');
    w.store(blks(0, 2)).publish(); // seq 1, applied live
    await converged(r, w);
    w.store(blks(2, 4)).publish({ lose: true }); // seq 2 lost
    // While answering, the worker emits seq 4 before its reply (flushed first, ≤ snapshot.seq)
    // and seq 5 right after it (> snapshot.seq: buffered by the router, replayed after loading).
    w.beforeReply = () => void w.store([blk(10)]);
    w.afterReply = () => {
      w.afterReply = w.beforeReply = null;
      w.remove([blk(0)]).store([blk(11)]).publish();
    };
    w.store(blks(4, 6)).publish(); // seq 3: the gap
    await converged(r, w);
    // w1 = {1,2,3,4,5,10,11}, seq 6
    assert.deepEqual(r.index.hashesOf('w1').sort(), [...blks(1, 6), blk(10), blk(11)].sort());
    const c = r.sync.counters();
    assert.equal(c.gaps, 1);
    assert.equal(c.snapshotsLoaded, 1);
    assert.equal(w.snapshotRequests, 1);
  });

  test('eviction and clear arrive as events: exact without any snapshot', async () => {
    const r = await rig();
    await r.sync.start();
    const w1 = await r.worker('w1'), w2 = await r.worker('w2');
    w1.store(blks(0, 10)).publish();
    w2.store(blks(0, 5)).publish();
    w1.remove([blk(9), blk(8)]).publish();
    w2.clear().store(blks(100, 102)).publish();
    await converged(r, w1, w2);
    // w1 = {0..7}, w2 = {100, 101}
    assert.deepEqual([...r.index.match(blks(0, 10))], [['w1', 8]]);
    assert.equal(r.index.size, 10);
    assert.equal(r.sync.counters().snapshotsRequested, 0);
  });

  test('a duplicate batch is stale and a restarted worker is rebuilt; both end exact', async () => {
    const r = await rig();
    await r.sync.start();
    const w = await r.worker('w1');
    w.store(blks(0, 3)).publish();
    w.store(blks(3, 5)).publish();
    await converged(r, w);
    w.publishRaw([stored(2, blks(3, 5))]); // a duplicate: stale → resync to be sure
    await r.settle();
    await converged(r, w);
    assert.equal(r.sync.counters().staleBatches, 1);
    // The process restarts under the same id: seq starts over at 1, cache empty.
    const again = await r.worker('w1', { serve: false });
    again.store([blk(50)]).publish();
    await converged(r, again);
    assert.equal(r.index.stats().restarts, 1);
  });

  test('concurrent requests are deduped; failures retry with backoff; loaded once served', async () => {
    const timers = manualTimers();
    const r = await rig({ timers, retryInitialMs: 100, retryMaxMs: 300 });
    await r.sync.start();
    const w = (await r.worker('w9', { serve: false })).store(blks(0, 2));
    r.sync.resync('w9');
    r.sync.resync('w9');
    r.sync.onWorkerSeen('w9');
    assert.equal(r.sync.counters().snapshotsRequested, 1);
    // No responders: each failure schedules a retry, 100 · 2^k ms scaled by 0.5 + 0.5/2, capped.
    for (let k = 0; k < 3; k++) {
      await waitFor(() => timers.queued() === 1, `retry ${k + 1} scheduled`);
      timers.fire();
    }
    await waitFor(() => timers.queued() === 1, 'retry 4 scheduled');
    assert.deepEqual(timers.delays, [75, 150, 225, 225]);
    assert.equal(r.sync.counters().snapshotFailures, 4);
    w.serveSnapshots();
    await r.settle();
    timers.fire();
    await converged(r, w);
    assert.equal(r.sync.counters().snapshotsLoaded, 1);
    assert.equal(r.sync.counters().snapshotsRequested, 5);
  });

  test('a request that times out is retried', async () => {
    const timers = manualTimers();
    const r = await rig({ timers, snapshotTimeoutMs: 1000 });
    await r.sync.start();
    const w = (await r.worker('w1')).store(blks(0, 3));
    w.ignoreRequests = 1;
    r.sync.onWorkerSeen('w1');
    await waitFor(() => timers.queued() === 1, 'retry after the timeout');
    timers.fire();
    await converged(r, w);
    assert.equal(w.snapshotRequests, 2);
    assert.equal(r.sync.counters().snapshotFailures, 1);
  });

  test('after maxSnapshotAttempts failures the worker leaves the index until it shows again', async () => {
    const timers = manualTimers();
    const r = await rig({ timers, maxSnapshotAttempts: 2 });
    await r.sync.start();
    const w = await r.worker('w1', { serve: false });
    w.store(blks(0, 2)).publish({ lose: true });
    w.store(blks(2, 4)).publish(); // first seen mid-stream → snapshot → no responders
    await waitFor(() => timers.queued() === 1, 'first retry');
    timers.fire();
    await waitFor(() => r.sync.counters().snapshotsAbandoned === 1, 'abandoned');
    assert.equal(r.index.hasWorker('w1'), false);
    assert.equal(timers.queued(), 0);
    w.serveSnapshots();
    w.store(blks(4, 5)).publish(); // shows again → a fresh snapshot
    await converged(r, w);
  });

  test('worker death: onWorkerGone drops its blocks and forgets its pending snapshot', async () => {
    const r = await rig();
    await r.sync.start();
    const w1 = await r.worker('w1'), w2 = await r.worker('w2');
    w1.store(blks(0, 4)).publish();
    w2.store(blks(0, 2)).publish();
    await converged(r, w1, w2);
    assert.deepEqual([...r.index.match(blks(0, 4))].sort(), [['w1', 4], ['w2', 2]]);
    r.sync.onWorkerGone('w1');
    assert.equal(r.index.hasWorker('w1'), false);
    assert.deepEqual([...r.index.match(blks(0, 4))], [['w2', 2]]);
    assert.equal(r.index.size, 2);
    // w2's snapshot is in flight when it dies; the late reply must not bring it back.
    w2.holdReplies = true;
    r.sync.resync('w2');
    await r.settle();
    await waitFor(() => w2.snapshotRequests === 1, 'request reached w2');
    r.sync.onWorkerGone('w2');
    assert.deepEqual(r.sync.pendingSnapshots(), []);
    w2.releaseHeld();
    await r.settle();
    await r.routerNc.flush();
    assert.equal(r.index.hasWorker('w2'), false);
    assert.equal(r.index.size, 0);
    assert.equal(r.sync.counters().snapshotsLoaded, 0);
  });

  test('a malformed payload is counted and ignored', async () => {
    const r = await rig();
    await r.sync.start();
    r.workerNc.publish(r.subjects.kvEvents('w1'), new Uint8Array([0xff, 0xff, 0xff]));
    r.workerNc.publish(r.subjects.kvEvents('w1'), wire.kvEventBatch.encode({ workerId: '', events: [stored(1, [blk(1)])] }));
    await r.settle();
    assert.equal(r.sync.counters().malformedBatches, 2);
    assert.equal(r.index.hasWorker('w1'), false);
  });
});
