/**
 * The placement service: a live registry fed by duet.workers.heartbeat.*, and
 * PlacementRequest → PlacementResponse on duet.router.place (replicas share a queue group).
 *
 *   new Router(config) (no I/O) ─▶ start() ─▶ answering ─▶ stop()
 */
import { ErrorCode, Subjects, connectNats, createLogger, createRegistry, extractTraceContext, getTracer, metricName, serveMetrics, wire, type Logger } from '@duet/core';
import type { Msg, NatsConnection, Subscription } from 'nats';
import type { Server } from 'node:http';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { RouterConfig } from './config.ts';
import { RoundRobinPlacer, type Placer, type PlacementResponseInit } from './placer.ts';
import { WorkerRegistry } from './registry.ts';

export interface RouterDeps {
  placer?: Placer;
  logger?: Logger;
  /** Clock for heartbeat expiry (tests). */
  now?: () => number;
  defaultMetrics?: boolean;
}

class RouterMetrics {
  readonly registry: Registry;
  readonly decisions: Counter<'result'>;
  readonly decisionSeconds: Histogram;

  constructor(live: () => number, defaultMetrics: boolean) {
    const r = (this.registry = createRegistry('router', { defaultMetrics }));
    this.decisions = new Counter({ name: metricName('router', 'decisions', 'total'), help: 'Placement decisions by result', labelNames: ['result'], registers: [r] });
    this.decisionSeconds = new Histogram({ name: metricName('router', 'decision', 'seconds'), help: 'Time to place one request', buckets: [1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05], registers: [r] });
    new Gauge({ name: metricName('router', 'live', 'workers'), help: 'Workers with a recent heartbeat', registers: [r], collect() { this.set(live()); } });
  }
}

export class Router {
  readonly registry: WorkerRegistry;
  readonly logger: Logger;
  private readonly placer: Placer;
  private readonly metrics: RouterMetrics;
  private nc: NatsConnection | null = null;
  private subs: Subscription[] = [];
  private server: Server | null = null;
  private boundMetricsPort = 0;

  constructor(
    readonly config: RouterConfig,
    deps: RouterDeps = {},
  ) {
    this.registry = new WorkerRegistry(config.missedBeats, deps.now);
    this.placer = deps.placer ?? new RoundRobinPlacer();
    this.logger = (deps.logger ?? createLogger('router')).child({ routerId: config.routerId });
    this.metrics = new RouterMetrics(() => this.registry.live().length, deps.defaultMetrics ?? true);
  }

  get metricsPort(): number {
    return this.boundMetricsPort;
  }

  async start(): Promise<void> {
    const c = this.config;
    this.logger.info({ config: c }, 'effective config');
    const nc = (this.nc = await connectNats({ url: c.natsUrl, name: `duet-router-${c.routerId}` }));
    const subjects = new Subjects(c.subjectPrefix);
    this.subs.push(nc.subscribe(subjects.allWorkerHeartbeats(), { callback: (err, msg) => !err && this.onHeartbeat(msg) }));
    this.subs.push(nc.subscribe(subjects.routerPlace(), { queue: c.queueGroup, callback: (err, msg) => !err && this.onPlace(msg) }));
    await nc.flush();
    const served = await serveMetrics(this.metrics.registry, c.metricsPort);
    this.server = served.server;
    this.boundMetricsPort = served.port;
    this.logger.info({ metricsPort: served.port }, 'router ready');
  }

  private onHeartbeat(msg: Msg): void {
    try {
      const hb = wire.workerHeartbeat.decode(msg.data);
      if (this.registry.observe(hb)) this.logger.info({ workerId: hb.worker?.workerId, role: hb.worker?.role }, 'worker joined');
    } catch (err) {
      this.logger.warn({ err }, 'malformed heartbeat');
    }
  }

  /** Places one request; the answer is always a PlacementResponse (errors included). */
  placeBytes(data: Uint8Array): PlacementResponseInit {
    let req;
    try {
      req = wire.placementRequest.decode(data);
    } catch (err) {
      return { result: { case: 'error', value: { code: ErrorCode.INVALID_REQUEST, message: (err as Error).message } } };
    }
    const res = this.placer.place(req, this.registry.live());
    const r = res.result;
    if (r?.case === 'placed') this.logger.debug({ requestId: req.requestId, prefill: r.value.prefillWorkerId, decode: r.value.decodeWorkerId, reason: r.value.reason }, 'placed');
    else if (r?.case === 'noCapacity') this.logger.debug({ requestId: req.requestId, reason: r.value.reason }, 'no capacity');
    return res;
  }

  /** One placement, in a `router.place` span that continues the caller's trace (NATS headers). */
  private onPlace(msg: Msg): void {
    const span = getTracer('router').startSpan('router.place', {}, extractTraceContext(msg.headers));
    const t0 = performance.now();
    const res = this.placeBytes(msg.data);
    const result = res.result?.case ?? 'error';
    this.metrics.decisions.inc({ result });
    this.metrics.decisionSeconds.observe((performance.now() - t0) / 1000);
    span.setAttribute('duet.placement.result', result);
    if (res.result?.case === 'placed') span.setAttribute('duet.placement.decode_worker', res.result.value.decodeWorkerId ?? '');
    span.end();
    msg.respond(wire.placementResponse.encode(res));
  }

  async stop(): Promise<void> {
    this.subs.forEach((s) => s.unsubscribe());
    this.subs = [];
    await this.nc?.drain().catch((err: unknown) => this.logger.warn({ err }, 'nats drain failed'));
    // A failed drain (server gone) leaves the client reconnecting forever: close it for good.
    if (this.nc && !this.nc.isClosed()) await this.nc.close();
    this.nc = null;
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
