/**
 * What a worker tells the fleet about itself, pushed on NATS core (docs/wire.md):
 *
 *   every interval ──▶ WorkerHeartbeat (full WorkerInfo + state)   duet.workers.heartbeat.<id>
 *   per engine step ─▶ KvEventBatch (engine seq numbers, in order)  duet.kv.events.<id>
 *   after steps ─────▶ LoadReport (rate-limited)                    duet.load.<id>
 *   on request ──────▶ KvSnapshotResponse                           duet.kv.snapshot.<id>
 *
 * KV events of one step arrive synchronously inside `engine.step()`; they are collected and sent
 * as one batch on the next macrotask, so a batch never splits a step and seq order is kept.
 */
import { WorkerState, wire, type KvEventBatchSchema, type Logger, type Subjects, type WorkerInfo, type WorkerInfoSchema } from '@duet/core';
import type { Engine, KvEvent } from '@duet/engine';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { NatsConnection, Subscription } from 'nats';

type KvEventInit = NonNullable<MessageInitShape<typeof KvEventBatchSchema>['events']>[number];

export interface PresenceOptions {
  nc: NatsConnection;
  subjects: Subjects;
  engine: Engine;
  info: MessageInitShape<typeof WorkerInfoSchema> & Pick<WorkerInfo, 'workerId'>;
  heartbeatIntervalMs: number;
  loadReportIntervalMs: number;
  logger: Logger;
}

function kvEventToWire(e: KvEvent): KvEventInit {
  const seq = BigInt(e.seq);
  if (e.type === 'stored') {
    const value = { hashes: [...e.hashes], blockSize: e.blockSize, ...(e.parentHash !== null ? { parentHash: e.parentHash } : {}) };
    return { seq, event: { case: 'stored', value } };
  }
  if (e.type === 'removed') return { seq, event: { case: 'removed', value: { hashes: [...e.hashes] } } };
  return { seq, event: { case: 'cleared', value: {} } };
}

export class Presence {
  state: WorkerState = WorkerState.READY;
  private beatSeq = 0n;
  private loadSeq = 0n;
  private lastLoadAt = 0;
  private loadTimer: NodeJS.Timeout | null = null;
  private beatTimer: NodeJS.Timeout | null = null;
  private pendingEvents: KvEventInit[] = [];
  private flushScheduled = false;
  private prevExperts: number[][] | null = null;
  private unlisten: (() => void) | null = null;
  private snapshotSub: Subscription | null = null;

  constructor(private readonly o: PresenceOptions) {}

  start(): void {
    const { nc, subjects, engine } = this.o;
    this.unlisten = engine.onKvEvent((e) => this.queueEvent(e));
    this.snapshotSub = nc.subscribe(subjects.kvSnapshot(this.o.info.workerId), {
      callback: (err, msg) => {
        if (err) return this.o.logger.warn({ err }, 'kv snapshot subscription error');
        this.flushEvents(); // events before the snapshot's seq go out first
        const snap = engine.kvSnapshot();
        msg.respond(wire.kvSnapshotResponse.encode({ workerId: this.o.info.workerId, seq: BigInt(snap.seq), blockSize: engine.options.blockSize, hashes: [...snap.hashes] }));
      },
    });
    this.beat();
    this.beatTimer = setInterval(() => this.beat(), this.o.heartbeatIntervalMs);
  }

  /** Publishes a beat now (also used to announce draining / stopping without waiting). */
  beat(): void {
    try {
      const body = wire.workerHeartbeat.encode({
        worker: this.o.info,
        seq: ++this.beatSeq,
        sentAtUnixMs: BigInt(Date.now()),
        state: this.state,
        intervalMs: this.o.heartbeatIntervalMs,
      });
      this.o.nc.publish(this.o.subjects.workerHeartbeat(this.o.info.workerId), body);
    } catch (err) {
      this.o.logger.warn({ err }, 'heartbeat publish failed'); // the next beat retries
    }
  }

  private queueEvent(e: KvEvent): void {
    this.pendingEvents.push(kvEventToWire(e));
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flushEvents());
  }

  private flushEvents(): void {
    this.flushScheduled = false;
    const events = this.pendingEvents;
    this.pendingEvents = [];
    if (events.length === 0 || this.o.nc.isClosed()) return;
    try {
      this.o.nc.publish(this.o.subjects.kvEvents(this.o.info.workerId), wire.kvEventBatch.encode({ workerId: this.o.info.workerId, events }));
    } catch (err) {
      this.o.logger.warn({ err }, 'kv event publish failed; routers resync by snapshot on the seq gap');
    }
  }

  /** After a scheduler step: a LoadReport now, or once the rate limit allows. */
  onStep(): void {
    if (this.loadTimer) return;
    const wait = this.lastLoadAt + this.o.loadReportIntervalMs - Date.now();
    if (wait <= 0) return this.publishLoad();
    this.loadTimer = setTimeout(() => {
      this.loadTimer = null;
      this.publishLoad();
    }, wait);
  }

  private expertDelta(): Array<{ layer: number; tokensPerExpert: number[] }> {
    const now = this.o.engine.stats().expertTokens;
    if (!now) return [];
    const prev = this.prevExperts;
    this.prevExperts = now;
    return now.map((row, layer) => ({ layer, tokensPerExpert: row.map((v, e) => v - (prev?.[layer][e] ?? 0)) }));
  }

  private publishLoad(): void {
    this.lastLoadAt = Date.now();
    if (this.o.nc.isClosed()) return;
    const s = this.o.engine.stats();
    const body = wire.loadReport.encode({
      workerId: this.o.info.workerId,
      seq: ++this.loadSeq,
      sentAtUnixMs: BigInt(this.lastLoadAt),
      inflightPrefillTokens: s.pendingPromptTokens,
      runningSeqs: s.running,
      waitingSeqs: s.waiting,
      kvBlocksUsed: s.blocks.usedBlocks,
      kvBlocksFree: s.blocks.freeBlocks,
      expertTokens: this.expertDelta(),
    });
    this.o.nc.publish(this.o.subjects.load(this.o.info.workerId), body);
  }

  stop(): void {
    if (this.beatTimer) clearInterval(this.beatTimer);
    if (this.loadTimer) clearTimeout(this.loadTimer);
    this.beatTimer = this.loadTimer = null;
    this.unlisten?.();
    this.snapshotSub?.unsubscribe();
    this.flushEvents();
  }
}
