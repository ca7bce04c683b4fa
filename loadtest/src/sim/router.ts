/**
 * The router inside the simulator: the real @duet/router pieces wired together as services/router
 * wires them, with NATS replaced by direct calls.
 *
 *   heartbeats      → WorkerRegistry (who is live, READY or DRAINING)        real
 *   KV events       → PrefixIndex.applyBatch (per-worker seq 1, 2, …)        real
 *   placement       → PolicyPlacer: accounting read → decide → reserve (CAS) real, the policy's plugins
 *   request events  → RequestEventHandler: PREFILL_DONE / FINISHED release    real
 *   worker gone     → index.removeWorker, fleet.forget, accounting.dropWorker as Router.onWorkerGone
 *
 * Time is the simulation's clock (registry expiry, reservation TTL); tie-breaks draw from a seeded
 * random source, so a run is a pure function of its inputs.
 */
import { create } from '@bufbuild/protobuf';
import {
  createLogger,
  KvEventBatchSchema,
  KvEventSchema,
  PlacementRequestSchema,
  RequestEventBatchSchema,
  RequestPhase,
  WorkerHeartbeatSchema,
  WorkerRole,
  WorkerState,
  type KvEvent,
  type Logger,
} from '@duet/core';
import {
  FleetState,
  InMemoryAccounting,
  LivePolicy,
  PolicyPlacer,
  PrefixIndex,
  RequestEventHandler,
  WorkerRegistry,
  type PlacementOutcome,
} from '@duet/router';
import type { KvEventOps } from './kv-cache.ts';
import type { SimRequest } from './requests.ts';
import type { SimEngineConfig, SimRole } from './worker.ts';

/** Heartbeats are sent only on state changes; the interval is long enough never to expire. */
const BEAT_INTERVAL_MS = 2 ** 31;

export interface SimRouterOptions {
  /** A built-in policy name or a RoutingPolicy file. */
  policy: string;
  random: () => number;
  now: () => number;
  model: string;
  logger?: Logger;
}

const ROLES: Record<SimRole, WorkerRole> = { prefill: WorkerRole.PREFILL, decode: WorkerRole.DECODE, both: WorkerRole.BOTH };

export class SimRouter {
  readonly index = new PrefixIndex();
  readonly registry: WorkerRegistry;
  readonly fleet: FleetState;
  readonly accounting: InMemoryAccounting;
  readonly policy: LivePolicy;
  private readonly placer: PolicyPlacer;
  private readonly events: RequestEventHandler;
  private readonly beatSeq = new Map<string, bigint>();
  private readonly kvSeq = new Map<string, bigint>();
  readonly counts = { placed: 0, noCapacity: 0, kvBatches: 0, disaggregated: 0 };

  constructor(private readonly o: SimRouterOptions) {
    const logger = o.logger ?? createLogger('sim-router', { level: 'silent' });
    this.registry = new WorkerRegistry(10, o.now, (id) => this.onGone(id));
    // Pending-prefix expiry runs on simulated time.
    this.fleet = new FleetState(this.registry, o.random, this.index, o.now);
    this.accounting = new InMemoryAccounting({}, { now: o.now });
    this.policy = new LivePolicy(o.policy, logger);
    this.placer = new PolicyPlacer(this.fleet, this.accounting, this.policy, logger);
    this.events = new RequestEventHandler(this.fleet, this.accounting, logger);
  }

  /** A worker's heartbeat with its full WorkerInfo; `stopping` is its last beat. */
  heartbeat(w: { id: string; role: SimRole; engine: SimEngineConfig; maxModelLen: number }, state: 'ready' | 'draining' | 'stopping'): void {
    const seq = (this.beatSeq.get(w.id) ?? 0n) + 1n;
    this.beatSeq.set(w.id, seq);
    const e = w.engine;
    this.registry.observe(
      create(WorkerHeartbeatSchema, {
        worker: {
          workerId: w.id,
          role: ROLES[w.role],
          model: this.o.model,
          capacity: { kvBlocksTotal: e.numBlocks, blockSize: e.blockSize, maxRunningSeqs: e.maxRunningSeqs, maxBatchTokens: e.maxBatchTokens, maxModelLen: w.maxModelLen },
        },
        seq,
        state: state === 'ready' ? WorkerState.READY : state === 'draining' ? WorkerState.DRAINING : WorkerState.STOPPING,
        intervalMs: BEAT_INTERVAL_MS,
      }),
    );
  }

  /** One step's KV events of a worker, as the KvEventBatch it would publish. */
  kvEvents(workerId: string, ops: KvEventOps): void {
    if (ops.removed.length === 0 && ops.stored.length === 0) return;
    let seq = this.kvSeq.get(workerId) ?? 0n;
    const events: KvEvent[] = [];
    if (ops.removed.length) events.push(create(KvEventSchema, { seq: ++seq, event: { case: 'removed', value: { hashes: ops.removed } } }));
    if (ops.stored.length) events.push(create(KvEventSchema, { seq: ++seq, event: { case: 'stored', value: { hashes: ops.stored } } }));
    this.kvSeq.set(workerId, seq);
    this.counts.kvBatches++;
    this.index.applyBatch(create(KvEventBatchSchema, { workerId, events }));
  }

  place(r: SimRequest): Promise<PlacementOutcome> {
    return this.placer.place(
      create(PlacementRequestSchema, { requestId: r.id, model: this.o.model, blockHashes: r.blockHashes, promptTokens: r.promptTokens, maxTokens: r.maxTokens }),
    );
  }

  prefillDone(requestId: string, workerId: string, promptTokens: number): Promise<void> {
    return this.event(workerId, { requestId, workerId, phase: RequestPhase.PREFILL_DONE, promptTokens });
  }

  finished(requestId: string, workerId: string, promptTokens: number, generatedTokens: number): Promise<void> {
    return this.event(workerId, { requestId, workerId, phase: RequestPhase.FINISHED, promptTokens, generatedTokens });
  }

  rejected(requestId: string, workerId: string): Promise<void> {
    return this.event(workerId, { requestId, workerId, phase: RequestPhase.REJECTED });
  }

  private event(workerId: string, e: { requestId: string; workerId: string; phase: RequestPhase; promptTokens?: number; generatedTokens?: number }): Promise<void> {
    return this.events.apply(create(RequestEventBatchSchema, { workerId, events: [e] }));
  }

  /** As Router.onWorkerGone: the index, the fleet's reports and expert load, the accounting. */
  private onGone(workerId: string): void {
    this.index.removeWorker(workerId);
    this.kvSeq.delete(workerId);
    this.fleet.forget(workerId);
    void this.accounting.dropWorker(workerId);
  }
}
