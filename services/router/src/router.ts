/**
 * The placement service. Inputs, all pushed over NATS core:
 *   duet.workers.heartbeat.*  → the live registry (a new worker → a KV snapshot request)
 *   duet.kv.events.*          → the prefix index (KvEventSync: gaps and restarts → snapshots)
 *   duet.load.*               → latest LoadReport per worker (expert load; idle → accounting drift fix)
 *   duet.requests.events.*    → accounting releases, expert profiles by prefix
 *   duet.policy.routing       → live RoutingPolicy updates (also: the policy file is watched)
 * and PlacementRequest → PlacementResponse on duet.router.place (replicas share a queue group).
 *
 *   new Router(config) (no I/O) ─▶ start() ─▶ answering ─▶ stop()
 */
import { ErrorCode, Subjects, connectNats, createLogger, extractTraceContext, getTracer, serveMetrics, wire, type Logger, type PlacementRequest } from '@duet/core';
import type { Msg, NatsConnection, Subscription } from 'nats';
import type { Server } from 'node:http';
import { createAccounting, isIdleReport, type LoadAccounting } from './accounting/index.ts';
import type { RouterConfig } from './config.ts';
import { FleetState } from './fleet.ts';
import { KvEventSync } from './index/index.ts';
import { PolicyPlacer, type PlacementOutcome } from './placement.ts';
import type { PlacementResponseInit } from './placer.ts';
import { LivePolicy } from './policy/live.ts';
import { WorkerRegistry } from './registry.ts';
import { RequestEventHandler } from './request-events.ts';
import { RouterMetrics } from './metrics.ts';

export interface RouterDeps {
  logger?: Logger;
  /** Clock for heartbeat expiry (tests). */
  now?: () => number;
  /** Tie-break randomness (tests). */
  random?: () => number;
  /** Replaces the accounting built from the config (tests). */
  accounting?: LoadAccounting;
  defaultMetrics?: boolean;
}

export class Router {
  readonly registry: WorkerRegistry;
  readonly fleet: FleetState;
  readonly policy: LivePolicy;
  readonly accounting: LoadAccounting;
  readonly logger: Logger;
  private readonly placer: PolicyPlacer;
  private readonly events: RequestEventHandler;
  private readonly metrics: RouterMetrics;
  private nc: NatsConnection | null = null;
  private kvSync: KvEventSync | null = null;
  private subs: Subscription[] = [];
  private server: Server | null = null;
  private boundMetricsPort = 0;

  constructor(
    readonly config: RouterConfig,
    deps: RouterDeps = {},
  ) {
    this.logger = (deps.logger ?? createLogger('router')).child({ routerId: config.routerId });
    this.registry = new WorkerRegistry(config.missedBeats, deps.now, (id) => this.onWorkerGone(id));
    this.fleet = new FleetState(this.registry, deps.random);
    this.policy = new LivePolicy(config.policy, this.logger);
    this.accounting =
      deps.accounting ??
      createAccounting({ redisUrl: config.redisUrl, keyPrefix: config.accountingKeyPrefix, reservationTtlMs: config.reservationTtlMs }, { now: deps.now, logger: this.logger });
    this.placer = new PolicyPlacer(this.fleet, this.accounting, this.policy, this.logger, config.casRetries);
    this.events = new RequestEventHandler(this.fleet, this.accounting, this.logger);
    this.metrics = new RouterMetrics(this, deps.defaultMetrics ?? true);
  }

  get metricsPort(): number {
    return this.boundMetricsPort;
  }

  /** KV event sync counters (null before start). */
  get kvSyncCounters(): ReturnType<KvEventSync['counters']> | null {
    return this.kvSync?.counters() ?? null;
  }

  get requestEventCounts(): RequestEventHandler['counts'] {
    return this.events.counts;
  }

  async start(): Promise<void> {
    const c = this.config;
    this.logger.info({ config: { ...c, redisUrl: c.redisUrl ? '(set)' : undefined }, policy: this.policy.current.name }, 'effective config');
    const nc = (this.nc = await connectNats({ url: c.natsUrl, name: `duet-router-${c.routerId}` }));
    const subjects = new Subjects(c.subjectPrefix);
    this.kvSync = new KvEventSync({ nc, subjects, index: this.fleet.index, requesterId: c.routerId, logger: this.logger });
    const on = (subject: string, handle: (msg: Msg) => void, queue?: string) =>
      this.subs.push(nc.subscribe(subject, { queue, callback: (err, msg) => !err && handle(msg) }));
    on(subjects.allWorkerHeartbeats(), (m) => this.onHeartbeat(m));
    on(subjects.allLoads(), (m) => this.onLoad(m));
    on(subjects.allRequestEvents(), (m) => this.onRequestEvents(m));
    on(subjects.routingPolicy(), (m) => this.onPolicyUpdate(m));
    on(subjects.routerPlace(), (m) => this.onPlace(m), c.queueGroup);
    await this.kvSync.start(this.registry.live().map((w) => w.info.workerId));
    this.policy.watch(c.policyWatchMs);
    await nc.flush();
    const served = await serveMetrics(this.metrics.registry, c.metricsPort, c.metricsHost);
    this.server = served.server;
    this.boundMetricsPort = served.port;
    this.logger.info({ metricsPort: served.port }, 'router ready');
  }

  private onHeartbeat(msg: Msg): void {
    try {
      const hb = wire.workerHeartbeat.decode(msg.data);
      if (!this.registry.observe(hb)) return;
      const id = hb.worker!.workerId;
      this.logger.info({ workerId: id, role: hb.worker?.role }, 'worker joined');
      this.kvSync?.onWorkerSeen(id);
    } catch (err) {
      this.logger.warn({ err }, 'malformed heartbeat');
    }
  }

  private onWorkerGone(workerId: string): void {
    this.logger.info({ workerId }, 'worker left');
    this.kvSync?.onWorkerGone(workerId);
    this.fleet.forget(workerId);
    this.accounting.dropWorker(workerId).catch((err: unknown) => this.logger.warn({ err, workerId }, 'accounting dropWorker failed'));
  }

  private onLoad(msg: Msg): void {
    let r;
    try {
      r = wire.loadReport.decode(msg.data);
    } catch (err) {
      return this.logger.warn({ err }, 'malformed load report');
    }
    if (!this.fleet.onLoadReport(r) || !isIdleReport(r)) return;
    this.accounting.reconcileIdle(r.workerId, Number(r.sentAtUnixMs)).catch((err: unknown) => this.logger.warn({ err, workerId: r.workerId }, 'accounting reconcile failed'));
  }

  private onRequestEvents(msg: Msg): void {
    try {
      this.events.apply(wire.requestEventBatch.decode(msg.data)).catch((err: unknown) => this.logger.warn({ err }, 'request events failed'));
    } catch (err) {
      this.logger.warn({ err }, 'malformed request events');
    }
  }

  private onPolicyUpdate(msg: Msg): void {
    try {
      this.policy.applyUpdate(wire.policyUpdate.decode(msg.data));
    } catch (err) {
      this.logger.warn({ err }, 'malformed policy update');
    }
  }

  /** Places one request; always a PlacementResponse (errors included), never a throw. */
  async placeBytes(data: Uint8Array): Promise<{ response: PlacementResponseInit; outcome: PlacementOutcome | null }> {
    let req: PlacementRequest;
    try {
      req = wire.placementRequest.decode(data);
    } catch (err) {
      return { response: { result: { case: 'error', value: { code: ErrorCode.INVALID_REQUEST, message: (err as Error).message } } }, outcome: null };
    }
    try {
      const outcome = await this.placer.place(req);
      return { response: outcome.decision.response, outcome };
    } catch (err) {
      this.logger.error({ err, requestId: req.requestId }, 'placement failed');
      return { response: { result: { case: 'error', value: { code: ErrorCode.INTERNAL, message: `placement failed: ${(err as Error).message}` } } }, outcome: null };
    }
  }

  /** One placement, in a `router.place` span that continues the caller's trace (NATS headers). */
  private onPlace(msg: Msg): void {
    const span = getTracer('router').startSpan('router.place', {}, extractTraceContext(msg.headers));
    const t0 = performance.now();
    this.placeBytes(msg.data)
      .then(({ response, outcome }) => {
        const result = response.result?.case ?? 'error';
        this.metrics.observeDecision(result, (performance.now() - t0) / 1000, outcome);
        span.setAttribute('duet.placement.result', result);
        if (response.result?.case === 'placed') span.setAttribute('duet.placement.decode_worker', response.result.value.decodeWorkerId ?? '');
        msg.respond(wire.placementResponse.encode(response));
      })
      .catch((err: unknown) => this.logger.error({ err }, 'placement reply failed'))
      .finally(() => span.end());
  }

  async stop(): Promise<void> {
    this.subs.forEach((s) => s.unsubscribe());
    this.subs = [];
    this.kvSync?.stop();
    this.policy.stop();
    await this.nc?.drain().catch((err: unknown) => this.logger.warn({ err }, 'nats drain failed'));
    // A failed drain (server gone) leaves the client reconnecting forever: close it for good.
    if (this.nc && !this.nc.isClosed()) await this.nc.close();
    this.nc = null;
    await this.accounting.close().catch((err: unknown) => this.logger.warn({ err }, 'accounting close failed'));
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
