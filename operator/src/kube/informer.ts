/**
 * One informer per watched resource: client-node's ListWatch (list, then watch from the list's
 * resourceVersion; relist after 410 Gone) plus what it leaves to its user —
 *  - a watch that fails for any other reason stops ListWatch for good; we restart it with
 *    exponential backoff (capped), and an error after `stop()` is ignored;
 *  - reconnect delays between quiet watches are capped (`maxReconnectDelayMs`), so a quiet
 *    resource is never left unwatched for ListWatch's default 30 s;
 *  - `start()` resolves once the first list has filled the cache (`hasSynced`).
 * Handlers get every add/update/delete; the controller's handlers only enqueue keys.
 */
import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '@duet/core';
import { statusCode } from './errors.ts';

export type InformerEventType = 'add' | 'update' | 'delete';
export type InformerHandler<T> = (type: InformerEventType, obj: T) => void;

export interface InformerOptions<T extends KubernetesObject> {
  /** API path of the collection, e.g. `/apis/apps/v1/namespaces/duet/deployments`. */
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  logger: Logger;
  /** Restart backoff after a failed list or watch: base, doubled per failure, capped. */
  restartBaseMs?: number;
  restartMaxMs?: number;
  /** Upper bound of the pause between two watch connections. */
  maxReconnectDelayMs?: number;
}

export class ResourceInformer<T extends KubernetesObject> {
  private readonly lw: ListWatch<T>;
  private readonly handlers: InformerHandler<T>[] = [];
  private stopped = true;
  private synced = false;
  /** A list has succeeded since start(): later errors are the watch's, and are retried. */
  private listed = false;
  private failures = 0;
  private restartTimer?: NodeJS.Timeout;

  constructor(
    kc: KubeConfig,
    private readonly opts: InformerOptions<T>,
  ) {
    const maxDelay = opts.maxReconnectDelayMs ?? 1000;
    const delayFn = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.min(ms, maxDelay)).unref());
    const list = async (): Promise<KubernetesListObject<T>> => {
      const result = await opts.list();
      this.listed = true;
      return result;
    };
    this.lw = new ListWatch<T>(opts.path, new Watch(kc), list, false, opts.labelSelector, undefined, { delayFn });
    this.lw.on('add', (o) => this.emit('add', o));
    this.lw.on('update', (o) => this.emit('update', o));
    this.lw.on('delete', (o) => this.emit('delete', o));
    this.lw.on('error', (err) => this.onError(err));
  }

  on(handler: InformerHandler<T>): void {
    this.handlers.push(handler);
  }

  private emit(type: InformerEventType, obj: T): void {
    this.failures = 0;
    for (const h of this.handlers) h(type, obj);
  }

  /** Lists, fills the cache and starts watching. Rejects if the first list fails. */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.listed = false;
    let listError: unknown;
    let watchError: unknown;
    const capture = (err: unknown): void => {
      if (this.listed) watchError ??= err;
      else listError ??= err;
    };
    this.lw.on('error', capture);
    try {
      await this.lw.start();
    } finally {
      this.lw.off('error', capture);
    }
    if (listError !== undefined) {
      this.stopped = true;
      throw listError instanceof Error ? listError : new Error(`informer ${this.opts.path}: first list failed: ${JSON.stringify(listError)}`);
    }
    this.synced = true;
    // The list worked but its first watch did not: restart the watch like any later failure.
    if (watchError !== undefined) this.onError(watchError);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await this.lw.stop();
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.lw.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.lw.list(namespace);
  }

  private onError(err: unknown): void {
    if (this.stopped || !this.synced) return;
    this.failures += 1;
    const base = this.opts.restartBaseMs ?? 200;
    const delay = Math.min(this.opts.restartMaxMs ?? 10_000, base * 2 ** Math.min(this.failures - 1, 20));
    this.opts.logger.warn({ path: this.opts.path, code: statusCode(err), err: err instanceof Error ? err.message : String(err), retryInMs: delay }, 'watch failed; restarting');
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (this.stopped) return;
      this.lw.start().catch((e: unknown) => this.onError(e));
    }, delay);
    this.restartTimer.unref();
  }
}
