/**
 * KvEventSync: keeps a PrefixIndex in step with the fleet over NATS core.
 *
 *   duet.kv.events.*  ──KvEventBatch──▶ index.applyBatch ──'gap' / 'stale'──▶ resync(worker)
 *   resync(worker): index.expectSnapshot ─▶ request duet.kv.snapshot.<worker> ─▶ index.loadSnapshot
 *                   (failure / timeout: retry after initial·2^k ms, jittered, capped; after
 *                   maxSnapshotAttempts the worker is dropped from the index until it shows again)
 *
 * A snapshot is requested on a gap, for a worker first seen mid-stream, for a 'stale' batch (only a
 * worker restart whose first batch was lost produces one), for each worker the router knows at
 * start(), and for a worker the registry newly sees (onWorkerSeen) that the index does not know.
 * At most one request per worker is in flight; asking again while one is pending does nothing.
 * onWorkerGone (the registry dropped the worker) removes it and forgets any pending request: a
 * late reply is ignored. The constructor does no I/O; timers and jitter are injectable for tests.
 */
import { requestTyped, wire, type KvEventBatch, type KvSnapshotResponse, type Logger, type Subjects } from '@duet/core';
import type { Msg, NatsConnection, NatsError, Subscription } from 'nats';
import type { PrefixIndex } from './prefix-index.ts';

export interface KvEventSyncTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface KvEventSyncOptions {
  nc: NatsConnection;
  subjects: Subjects;
  index: PrefixIndex;
  /** This router replica's id (sent in KvSnapshotRequest, for the worker's logs). */
  requesterId: string;
  logger: Logger;
  snapshotTimeoutMs?: number;
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** Failed requests in a row before the worker is dropped from the index. */
  maxSnapshotAttempts?: number;
  timers?: KvEventSyncTimers;
  /** In [0, 1); the retry delay is scaled by 0.5 + random() / 2. */
  random?: () => number;
}

export const KV_EVENT_SYNC_DEFAULTS = { snapshotTimeoutMs: 2000, retryInitialMs: 250, retryMaxMs: 8000, maxSnapshotAttempts: 8 } as const;

export interface KvEventSyncCounters {
  batches: number;
  malformedBatches: number;
  /** Seq gaps on a worker that was in step (a worker first seen mid-stream is not one). */
  gaps: number;
  staleBatches: number;
  newWorkers: number;
  snapshotsRequested: number;
  snapshotsLoaded: number;
  snapshotFailures: number;
  /** Workers dropped after maxSnapshotAttempts failures in a row. */
  snapshotsAbandoned: number;
  /** Events applied to the index (live and replayed after a snapshot). */
  eventsApplied: number;
}

interface Pending {
  attempt: number;
  timer: unknown;
}

export class KvEventSync {
  private readonly o: Required<Omit<KvEventSyncOptions, 'timers' | 'random'>>;
  private readonly timers: KvEventSyncTimers;
  private readonly random: () => number;
  private readonly pending = new Map<string, Pending>();
  private sub: Subscription | null = null;
  private stopped = false;
  private readonly counts = { batches: 0, malformedBatches: 0, gaps: 0, staleBatches: 0, newWorkers: 0, snapshotsRequested: 0, snapshotsLoaded: 0, snapshotFailures: 0, snapshotsAbandoned: 0 };

  constructor(options: KvEventSyncOptions) {
    const o = { ...KV_EVENT_SYNC_DEFAULTS, ...options };
    for (const k of ['snapshotTimeoutMs', 'retryInitialMs', 'retryMaxMs', 'maxSnapshotAttempts'] as const) {
      if (!(o[k] > 0)) throw new RangeError(`KvEventSync option ${k} must be > 0, got ${o[k]}`);
    }
    this.o = o;
    this.timers = options.timers ?? { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };
    this.random = options.random ?? Math.random;
  }

  get index(): PrefixIndex {
    return this.o.index;
  }

  /**
   * Subscribes to every worker's KV events and, once the server has the subscription (so no
   * event after a snapshot can slip past), asks each known worker for a snapshot.
   */
  async start(knownWorkerIds: Iterable<string> = []): Promise<void> {
    if (this.sub) throw new Error('KvEventSync already started');
    this.stopped = false;
    this.sub = this.o.nc.subscribe(this.o.subjects.allKvEvents(), { callback: (err, msg) => this.onMessage(err, msg) });
    await this.o.nc.flush();
    for (const id of knownWorkerIds) this.resync(id);
  }

  /** The registry saw a new worker: a snapshot unless the index already follows it. */
  onWorkerSeen(workerId: string): void {
    if (!this.o.index.hasWorker(workerId)) this.resync(workerId);
  }

  /** The registry dropped the worker: its blocks leave the index, a pending request is forgotten. */
  onWorkerGone(workerId: string): void {
    this.forget(workerId);
    this.o.index.removeWorker(workerId);
  }

  /** Requests a snapshot of the worker unless one is already pending. */
  resync(workerId: string): void {
    if (this.stopped || this.pending.has(workerId)) return;
    const p: Pending = { attempt: 0, timer: null };
    this.pending.set(workerId, p);
    this.o.index.expectSnapshot(workerId);
    this.request(workerId, p);
  }

  /** Workers with a snapshot request pending (in flight or waiting to retry). */
  pendingSnapshots(): string[] {
    return [...this.pending.keys()];
  }

  counters(): KvEventSyncCounters {
    return { ...this.counts, eventsApplied: this.o.index.stats().eventsApplied };
  }

  /** Applies one batch as if it had arrived on NATS (the subscription's path). */
  ingest(batch: KvEventBatch): void {
    const index = this.o.index, id = batch.workerId;
    const known = index.hasWorker(id), wasAwaiting = index.needsSnapshot(id);
    const result = index.applyBatch(batch);
    this.counts.batches++;
    if (!known) this.counts.newWorkers++;
    if (result === 'gap') {
      if (known && !wasAwaiting) {
        this.counts.gaps++;
        this.o.logger.info({ workerId: id, lastSeq: index.lastSeqOf(id), batchSeq: String(batch.events[0]?.seq) }, 'kv event gap; requesting a snapshot');
      }
      this.resync(id);
    } else if (result === 'stale') {
      this.counts.staleBatches++;
      this.o.logger.info({ workerId: id, lastSeq: index.lastSeqOf(id), batchSeq: String(batch.events[0]?.seq) }, 'stale kv event batch (worker restarted?); requesting a snapshot');
      this.resync(id);
    }
  }

  stop(): void {
    this.stopped = true;
    this.sub?.unsubscribe();
    this.sub = null;
    for (const id of [...this.pending.keys()]) this.forget(id);
  }

  private onMessage(err: NatsError | null, msg: Msg): void {
    if (err) return void this.o.logger.warn({ err }, 'kv events subscription error');
    let batch: KvEventBatch;
    try {
      batch = wire.kvEventBatch.decode(msg.data);
    } catch (e) {
      this.counts.malformedBatches++;
      return void this.o.logger.warn({ err: e, subject: msg.subject }, 'malformed kv event batch');
    }
    if (!batch.workerId) {
      this.counts.malformedBatches++;
      return void this.o.logger.warn({ subject: msg.subject }, 'kv event batch without worker_id');
    }
    this.ingest(batch);
  }

  private forget(workerId: string): void {
    const p = this.pending.get(workerId);
    if (!p) return;
    if (p.timer !== null) this.timers.clearTimeout(p.timer);
    this.pending.delete(workerId);
  }

  private request(workerId: string, p: Pending): void {
    this.counts.snapshotsRequested++;
    const { nc, subjects, requesterId, snapshotTimeoutMs } = this.o;
    void requestTyped(nc, subjects.kvSnapshot(workerId), wire.kvSnapshotRequest, { requesterId }, wire.kvSnapshotResponse, { timeoutMs: snapshotTimeoutMs }).then(
      (snap) => this.onSnapshot(workerId, p, snap),
      (err: unknown) => this.onFailure(workerId, p, err),
    ).catch((err: unknown) => this.o.logger.error({ err, workerId }, 'kv snapshot handling failed'));
  }

  private onSnapshot(workerId: string, p: Pending, snap: KvSnapshotResponse): void {
    if (this.pending.get(workerId) !== p) return; // gone, stopped, or superseded
    if (snap.workerId !== workerId) return this.onFailure(workerId, p, new Error(`snapshot reply names worker ${JSON.stringify(snap.workerId)}`));
    this.pending.delete(workerId);
    this.o.index.loadSnapshot(snap);
    this.counts.snapshotsLoaded++;
    this.o.logger.debug({ workerId, seq: String(snap.seq), blocks: snap.hashes.length }, 'kv snapshot loaded');
    if (this.o.index.needsSnapshot(workerId)) this.resync(workerId); // the replayed buffer had a gap
  }

  private onFailure(workerId: string, p: Pending, err: unknown): void {
    if (this.pending.get(workerId) !== p) return;
    this.counts.snapshotFailures++;
    p.attempt++;
    const { retryInitialMs, retryMaxMs, maxSnapshotAttempts } = this.o;
    if (p.attempt >= maxSnapshotAttempts) {
      this.pending.delete(workerId);
      this.o.index.removeWorker(workerId);
      this.counts.snapshotsAbandoned++;
      return void this.o.logger.warn({ err, workerId, attempts: p.attempt }, 'kv snapshot failed repeatedly; worker dropped from the prefix index until it shows again');
    }
    const delayMs = Math.min(retryMaxMs, retryInitialMs * 2 ** (p.attempt - 1)) * (0.5 + this.random() / 2);
    this.o.logger.warn({ err, workerId, attempt: p.attempt, retryInMs: Math.round(delayMs) }, 'kv snapshot request failed; retrying');
    p.timer = this.timers.setTimeout(() => {
      p.timer = null;
      if (this.pending.get(workerId) === p) this.request(workerId, p);
    }, delayMs);
  }
}
