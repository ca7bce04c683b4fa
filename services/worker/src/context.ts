/**
 * What the request handlers of one worker share, and the bookkeeping of the work it holds:
 * cancellation by request id, and a drain that resolves once nothing is held.
 */
import type { KvTransportKind, Logger, Subjects } from '@duet/core';
import type { Engine, EngineLoop, StepResult } from '@duet/engine';
import type { EngineLayerTap, KvTransport } from '@duet/kv-transfer';
import type { Tracer } from '@opentelemetry/api';
import type { NatsConnection } from 'nats';
import type { WorkerConfig } from './config.ts';
import type { WorkerMetrics } from './metrics.ts';
import type { RequestEventPublisher } from './request-events.ts';

export interface WorkerContext {
  config: WorkerConfig;
  nc: NatsConnection;
  subjects: Subjects;
  engine: Engine;
  loop: EngineLoop;
  tap: EngineLayerTap;
  transports: ReadonlyMap<KvTransportKind, KvTransport>;
  metrics: WorkerMetrics;
  logger: Logger;
  tracer: Tracer;
  work: WorkTracker;
  /** Request lifecycle events for the routers' accounting and expert profiles. */
  events: RequestEventPublisher;
  /** Step observers (prefill runs collecting their expert histogram). */
  stepObservers: Set<(r: StepResult) => void>;
}

/** Requests a worker holds, keyed `<role>:<requestId>`; each with its cancel function. */
export class WorkTracker {
  draining = false;
  private readonly active = new Map<string, () => void>();
  private waiters: Array<() => void> = [];

  get size(): number {
    return this.active.size;
  }

  add(key: string, cancel: () => void): void {
    this.active.set(key, cancel);
  }

  done(key: string): void {
    this.active.delete(key);
    if (this.active.size === 0) this.waiters.splice(0).forEach((w) => w());
  }

  /** Cancels every role's run of `requestId`; unknown ids are a no-op (cancels are idempotent). */
  cancel(requestId: string): number {
    let n = 0;
    for (const role of ['prefill', 'decode']) {
      const c = this.active.get(`${role}:${requestId}`);
      if (!c) continue;
      c();
      n++;
    }
    return n;
  }

  cancelAll(): void {
    for (const c of [...this.active.values()]) c();
  }

  whenEmpty(): Promise<void> {
    if (this.active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
