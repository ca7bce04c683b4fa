/**
 * Kubernetes Events (core/v1) about the objects the operator manages, shown by `kubectl describe`.
 * Like client-go's recorder, a repeat of the same (object, type, reason, message) within
 * `aggregateWindowMs` bumps `count` and `lastTimestamp` on the existing Event instead of creating
 * another. Recording never throws: an Event that cannot be written is logged and dropped, since
 * Events are diagnostics and must not fail a reconcile.
 */
import type { CoreV1Api, CoreV1Event, V1ObjectReference } from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Logger } from '@duet/core';
import { systemClock, type Clock } from './clock.ts';
import { isNotFound } from './errors.ts';

export type EventType = 'Normal' | 'Warning';

export interface InvolvedObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

export interface EventRecorderOptions {
  component: string;
  /** This replica (pod name). */
  instance: string;
  aggregateWindowMs?: number;
  clock?: Clock;
}

interface Seen {
  name: string;
  namespace: string;
  count: number;
  firstMs: number;
  lastMs: number;
}

const MAX_MESSAGE = 1024;

export class EventRecorder {
  private readonly seen = new Map<string, Seen>();
  private seq = 0;

  constructor(
    private readonly api: CoreV1Api,
    private readonly opts: EventRecorderOptions,
    private readonly logger: Logger,
  ) {}

  private get clock(): Clock {
    return this.opts.clock ?? systemClock;
  }

  async record(obj: InvolvedObject, type: EventType, reason: string, message: string): Promise<void> {
    const meta = obj.metadata ?? {};
    const namespace = meta.namespace ?? 'default';
    const msg = message.length > MAX_MESSAGE ? message.slice(0, MAX_MESSAGE - 1) + '…' : message;
    const key = [meta.uid, type, reason, msg].join('\u0000');
    const now = this.clock.now();
    this.prune(now);
    try {
      const prev = this.seen.get(key);
      if (prev) {
        const next = { ...prev, count: prev.count + 1, lastMs: now };
        try {
          await this.api.patchNamespacedEvent(
            { namespace, name: prev.name, body: { count: next.count, lastTimestamp: new Date(now).toISOString() } },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
          );
          this.seen.set(key, next);
          return;
        } catch (err) {
          if (!isNotFound(err)) throw err;
          this.seen.delete(key);
        }
      }
      const name = `${meta.name ?? 'object'}.${now.toString(16)}${(this.seq++).toString(16)}`;
      const involved: V1ObjectReference = { apiVersion: obj.apiVersion, kind: obj.kind, name: meta.name, namespace, uid: meta.uid, resourceVersion: meta.resourceVersion };
      const body: CoreV1Event = {
        metadata: { name, namespace },
        involvedObject: involved,
        type,
        reason,
        message: msg,
        count: 1,
        firstTimestamp: new Date(now),
        lastTimestamp: new Date(now),
        source: { component: this.opts.component },
        reportingComponent: this.opts.component,
        reportingInstance: this.opts.instance,
      };
      await this.api.createNamespacedEvent({ namespace, body });
      this.seen.set(key, { name, namespace, count: 1, firstMs: now, lastMs: now });
    } catch (err) {
      this.logger.warn({ reason, object: `${namespace}/${meta.name}`, err: err instanceof Error ? err.message : String(err) }, 'could not record event');
    }
  }

  private prune(now: number): void {
    const window = this.opts.aggregateWindowMs ?? 10 * 60_000;
    for (const [k, s] of this.seen) if (now - s.lastMs > window) this.seen.delete(k);
  }
}
