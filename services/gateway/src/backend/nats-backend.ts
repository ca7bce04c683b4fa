/**
 * NatsBackend: the gateway's side of the disaggregated data plane. Per request:
 *
 *   PlacementRequest ─▶ duet.router.place  (NoCapacity → NoCapacityError → HTTP 503)
 *   runAttempt: tokens subscription, DecodeRequest (+ PrefillRequest), TokenChunks
 *   retry: a decode worker that does not ack, refuses, or dies mid-stream is excluded and the
 *          request placed again (attempt + 1, at most `maxRetries` times), resuming after the
 *          tokens already streamed
 *   abort: CancelRequest on duet.cancel.<id>
 *
 * `start()` subscribes to worker heartbeats (liveness for stall detection and `ready()`); the
 * constructor does no I/O.
 */
import type { NatsConnection, Subscription } from 'nats';
import { getTracer, injectTraceHeaders, inSpan, requestTyped, wire, type GeneratedToken, type Logger, type Placement, type Subjects } from '@duet/core';
import { context } from '@opentelemetry/api';
import { BackendFailureError, NoCapacityError } from './errors.ts';
import { fromWireError, runAttempt, type AttemptDeps } from './nats-attempt.ts';
import type { BackendEvent, BackendRequest, InferenceBackend } from './types.ts';
import { WorkerLiveness } from './worker-liveness.ts';
import type { RequestTiming, SloReporter } from '../slo-reporter.ts';

export interface NatsBackendOptions {
  subjects: Subjects;
  logger: Logger;
  placementTimeoutMs: number;
  runAckTimeoutMs: number;
  stallTimeoutMs: number;
  transferTimeoutMs: number;
  transport: 'nats' | 'tcp';
  /** Placements after the first; default 2. */
  maxRetries?: number;
  /** Clock for heartbeat liveness (tests). */
  now?: () => number;
  /** Records each request's TTFT / TPOT for the planner's SLO reports. */
  slo?: SloReporter;
}

export class NatsBackend implements InferenceBackend {
  private readonly liveness: WorkerLiveness;
  private readonly deps: AttemptDeps;
  private heartbeats: Subscription | null = null;

  constructor(
    private readonly nc: NatsConnection,
    private readonly opts: NatsBackendOptions,
  ) {
    this.liveness = new WorkerLiveness(opts.now);
    this.deps = { nc, liveness: this.liveness, ...opts };
  }

  start(): void {
    this.heartbeats ??= this.nc.subscribe(this.opts.subjects.allWorkerHeartbeats(), {
      callback: (err, msg) => {
        if (err) return void this.opts.logger.warn({ err: String(err) }, 'heartbeat subscription error');
        try {
          this.liveness.observe(wire.workerHeartbeat.decode(msg.data));
        } catch (e) {
          this.opts.logger.warn({ subject: msg.subject, err: String(e) }, 'bad heartbeat');
        }
      },
    });
  }

  ready(): boolean {
    return this.heartbeats !== null && !this.nc.isClosed() && this.liveness.hasLiveDecodeWorker();
  }

  async close(): Promise<void> {
    this.heartbeats?.unsubscribe();
    this.heartbeats = null;
    return Promise.resolve();
  }

  async *generate(req: BackendRequest, signal: AbortSignal): AsyncIterable<BackendEvent> {
    const timing = this.opts.slo?.begin();
    try {
      for await (const event of this.serve(req, signal, timing)) {
        timing?.observe(event);
        yield event;
      }
    } finally {
      timing?.end();
    }
  }

  private async *serve(req: BackendRequest, signal: AbortSignal, timing: RequestTiming | undefined): AsyncIterable<BackendEvent> {
    const exclude: string[] = [];
    const generated: GeneratedToken[] = [];
    const maxRetries = this.opts.maxRetries ?? 2;
    for (let attempt = 0; attempt <= maxRetries && !signal.aborted; attempt++) {
      const placed = await this.place(req, exclude, attempt);
      if (placed instanceof Error) {
        yield { type: 'error', error: placed };
        return;
      }
      timing?.placed();
      const result = yield* runAttempt(this.deps, req, placed, generated, signal);
      if (result.kind !== 'retry') return;
      this.opts.logger.warn({ requestId: req.requestId, workerId: result.workerId, attempt, reason: result.reason }, 'decode worker lost; placing again');
      exclude.push(result.workerId);
    }
    if (!signal.aborted) yield { type: 'error', error: new BackendFailureError(`no decode worker took ${req.requestId} after ${maxRetries + 1} placements (excluded ${exclude.join(', ')})`) };
  }

  private async place(req: BackendRequest, exclude: string[], attempt: number): Promise<Placement | Error> {
    return inSpan(getTracer('gateway'), 'gateway.place', context.active(), async (span) => {
      span.setAttributes({ 'duet.request_id': req.requestId, 'duet.attempt': attempt });
      const msg = {
        requestId: req.requestId,
        model: req.model,
        blockHashes: req.blockHashes,
        promptTokens: req.promptIds.length,
        maxTokens: req.sampling.maxTokens,
        excludeWorkerIds: exclude,
        attempt,
      };
      let res;
      try {
        res = await requestTyped(this.nc, this.opts.subjects.routerPlace(), wire.placementRequest, msg, wire.placementResponse, { timeoutMs: this.opts.placementTimeoutMs, headers: injectTraceHeaders() });
      } catch (err) {
        return new BackendFailureError(`placement failed (router unreachable or slow): ${(err as Error).message}`, { cause: err });
      }
      const r = res.result;
      if (r.case === 'placed') return r.value;
      if (r.case === 'noCapacity') return new NoCapacityError(r.value.reason || 'no worker can take the request', r.value.retryAfterMs || 1000);
      if (r.case === 'error') return fromWireError(r.value, 'placement refused');
      return new BackendFailureError('placement reply has no result');
    });
  }
}
