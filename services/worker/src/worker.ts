/**
 * A worker process's body, so tests can run several in one process: one engine and its loop, the
 * roles it serves (prefill, decode or both), presence on NATS and Prometheus metrics.
 *
 *   new Worker(config) (no I/O) ─▶ start() ─▶ serving ─▶ drain() (finish what it holds) ─▶ stop()
 */
import { KvTransportKind, Subjects, WorkerRole, WorkerState, connectNats, createLogger, getTracer, serveMetrics, wire, type Logger } from '@duet/core';
import { Engine, EngineLoop, loadModel, type StepResult } from '@duet/engine';
import { EngineLayerTap, NatsKvTransport, TcpKvTransport, type KvFaults, type KvTransport } from '@duet/kv-transfer';
import type { NatsConnection, Subscription } from 'nats';
import type { Server } from 'node:http';
import type { WorkerConfig } from './config.ts';
import { WorkTracker, type WorkerContext } from './context.ts';
import { RequestEventPublisher } from './request-events.ts';
import { DecodeService } from './decode-service.ts';
import { WorkerMetrics } from './metrics.ts';
import { PrefillService } from './prefill-service.ts';
import { Presence } from './presence.ts';
import { WorkerControl } from './control.ts';

export interface WorkerDeps {
  /** Fault injection on this worker's KV sender (tests). */
  faults?: KvFaults;
  logger?: Logger;
  /** Node process metrics in the registry (default true; off when many workers share a process). */
  defaultMetrics?: boolean;
}

const ROLE_WIRE = { prefill: WorkerRole.PREFILL, decode: WorkerRole.DECODE, both: WorkerRole.BOTH } as const;

export class Worker {
  private ctx: WorkerContext | null = null;
  private presence: Presence | null = null;
  private control: WorkerControl | null = null;
  private services: Array<DecodeService | PrefillService> = [];
  private cancelSub: Subscription | null = null;
  private metricsServer: Server | null = null;
  private boundMetricsPort = 0;
  readonly logger: Logger;

  constructor(
    readonly config: WorkerConfig,
    private readonly deps: WorkerDeps = {},
  ) {
    this.logger = (deps.logger ?? createLogger('worker')).child({ workerId: config.workerId, role: config.role });
  }

  private get started(): WorkerContext {
    if (!this.ctx) throw new Error(`worker ${this.config.workerId} is not started`);
    return this.ctx;
  }

  get engine(): Engine {
    return this.started.engine;
  }

  get metricsPort(): number {
    return this.boundMetricsPort;
  }

  /** Requests held now (prefill and decode runs). */
  get activeRuns(): number {
    return this.started.work.size;
  }

  get decodes(): boolean {
    return this.config.role !== 'prefill';
  }

  async start(): Promise<void> {
    const c = this.config;
    this.logger.info({ config: c }, 'effective config');
    const model = await loadModel(c.modelDir);
    const tap = new EngineLayerTap();
    const sizing = c.numKvBlocks ? { numKvBlocks: c.numKvBlocks } : { kvCacheMiB: c.kvCacheMib };
    const engine = await Engine.create(model, { backend: c.backend, threads: c.threads, blockSize: c.blockSize, maxBatchTokens: c.maxBatchTokens, maxRunningSeqs: c.maxRunningSeqs, ...sizing }, tap.hooks);
    tap.bind(engine);
    const stepObservers = new Set<(r: StepResult) => void>();
    const loop = new EngineLoop(engine, { onStep: (r) => this.onStep(stepObservers, r) });
    const nc = await connectNats({ url: c.natsUrl, name: `duet-worker-${c.workerId}` });
    const subjects = new Subjects(c.subjectPrefix);
    const transports = this.makeTransports(nc, subjects);
    const metrics = new WorkerMetrics(c.role, () => this.ctx?.engine ?? null, { defaultMetrics: this.deps.defaultMetrics ?? true });
    const served = await serveMetrics(metrics.registry, c.metricsPort, c.metricsHost);
    this.metricsServer = served.server;
    this.boundMetricsPort = served.port;
    const work = new WorkTracker();
    const events = new RequestEventPublisher(nc, subjects, c.workerId, c.blockSize, this.logger);
    this.ctx = { config: c, nc, subjects, engine, loop, tap, transports, metrics, logger: this.logger, tracer: getTracer('worker'), work, stepObservers, events };
    if (c.role !== 'decode') this.services.push(new PrefillService(this.ctx));
    if (c.role !== 'prefill') this.services.push(new DecodeService(this.ctx));
    this.services.forEach((s) => s.start());
    this.cancelSub = nc.subscribe(subjects.allCancels(), { callback: (err, msg) => !err && this.onCancel(msg.data) });
    this.presence = new Presence({ nc, subjects, engine, info: await this.info(transports), heartbeatIntervalMs: c.heartbeatIntervalMs, loadReportIntervalMs: c.loadReportIntervalMs, logger: this.logger });
    this.control = new WorkerControl({ nc, subjects, logger: this.logger, target: this.controlTarget(work) });
    this.control.start();
    await nc.flush(); // every subscription is live at the server before the first beat announces us
    this.presence.start();
    this.logger.info({ metricsPort: served.port, kvBlocks: engine.numKvBlocks }, 'worker ready');
  }

  private controlTarget(work: WorkTracker) {
    return {
      workerId: this.config.workerId,
      state: () => this.presence?.state ?? WorkerState.STOPPING,
      inflight: () => work.size,
      drain: () => this.drain(),
      cancelAll: () => work.cancelAll(),
    };
  }

  private makeTransports(nc: NatsConnection, subjects: Subjects): Map<KvTransportKind, KvTransport> {
    const opts = { deadlineMs: this.config.transferTimeoutMs, ...(this.deps.faults ? { faults: this.deps.faults } : {}) };
    return new Map<KvTransportKind, KvTransport>([
      [KvTransportKind.NATS, new NatsKvTransport(nc, subjects, opts)],
      [KvTransportKind.TCP, new TcpKvTransport(nc, subjects, { ...opts, listenHost: this.config.tcpHost })],
    ]);
  }

  private async info(transports: Map<KvTransportKind, KvTransport>) {
    const c = this.config;
    const e = this.started.engine;
    const tcp = transports.get(KvTransportKind.TCP) as TcpKvTransport;
    const offerTcp = this.decodes && c.transport === 'tcp';
    return {
      workerId: c.workerId,
      role: ROLE_WIRE[c.role],
      model: c.modelName,
      capacity: { kvBlocksTotal: e.numKvBlocks, blockSize: c.blockSize, maxRunningSeqs: c.maxRunningSeqs, maxBatchTokens: c.maxBatchTokens, maxModelLen: e.model.config.maxPositionEmbeddings },
      kvTransports: offerTcp ? [KvTransportKind.NATS, KvTransportKind.TCP] : [KvTransportKind.NATS],
      kvTcpAddress: offerTcp ? await tcp.listenAddress() : '',
      startedAtUnixMs: BigInt(Date.now()),
      version: '0.1.0',
    };
  }

  private onStep(observers: Set<(r: StepResult) => void>, r: StepResult): void {
    observers.forEach((o) => o(r));
    this.presence?.onStep();
  }

  private onCancel(data: Uint8Array): void {
    try {
      const { requestId, reason } = wire.cancelRequest.decode(data);
      if (this.started.work.cancel(requestId) > 0) this.logger.info({ requestId, reason }, 'request cancelled');
    } catch (err) {
      this.logger.warn({ err }, 'malformed cancel');
    }
  }

  /** Stops taking work (heartbeats say draining), finishes what it holds, then resolves. */
  async drain(): Promise<void> {
    const ctx = this.started;
    ctx.work.draining = true;
    this.presence!.state = WorkerState.DRAINING;
    this.presence!.beat();
    this.logger.info({ held: ctx.work.size }, 'draining');
    await ctx.work.whenEmpty();
    this.logger.info('drained');
  }

  /**
   * Stops now: held requests are cancelled (their peers see the abort). `abrupt` imitates a crash
   * (tests): no last beat, no cancellations sent — peers find out by their deadlines.
   */
  async stop(opts: { abrupt?: boolean } = {}): Promise<void> {
    const ctx = this.ctx;
    if (!ctx) return;
    this.ctx = null;
    if (!opts.abrupt) {
      this.presence!.state = WorkerState.STOPPING;
      this.presence!.beat();
    }
    this.presence?.stop();
    this.control?.stop();
    this.services.forEach((s) => s.stop());
    this.cancelSub?.unsubscribe();
    if (opts.abrupt) await ctx.nc.close();
    ctx.work.cancelAll();
    ctx.events.flush();
    ctx.loop.stop();
    await Promise.all([...ctx.transports.values()].map((t) => t.close()));
    if (!ctx.nc.isClosed()) await ctx.nc.drain().catch((err: unknown) => this.logger.warn({ err }, 'nats drain failed'));
    // A failed drain (server gone) leaves the client reconnecting forever: close it for good.
    if (!ctx.nc.isClosed()) await ctx.nc.close();
    await new Promise<void>((resolve) => (this.metricsServer ? this.metricsServer.close(() => resolve()) : resolve()));
    ctx.engine.dispose();
    this.logger.info('stopped');
  }
}
