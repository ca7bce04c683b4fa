/**
 * A controller work queue keyed by `namespace/name` (client-go's semantics):
 *  - dedupe: a key added many times before a worker takes it is processed once;
 *  - per-key serialisation: a key is never handed to two workers at once; added while being
 *    processed, it is marked dirty and queued again when its worker calls `done`;
 *  - delayed adds (`addAfter`): the earliest pending time for a key wins;
 *  - rate-limited adds (`addRateLimited`): per-key exponential backoff, base·2^failures capped at
 *    max, reset by `forget` after a success.
 *
 *      add ──▶ dirty ──▶ queue ──get──▶ processing ──done──▶ (dirty again? → queue)
 */
import { systemClock, type Clock, type TimerHandle } from './clock.ts';

export interface WorkQueueOptions {
  /** First retry delay after a failure. */
  baseDelayMs?: number;
  /** Cap of the exponential backoff. */
  maxDelayMs?: number;
  clock?: Clock;
}

export const WORKQUEUE_DEFAULTS = { baseDelayMs: 50, maxDelayMs: 60_000 } as const;

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly delayed = new Map<string, { at: number; timer: TimerHandle }>();
  private readonly failures = new Map<string, number>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly clock: Clock;

  constructor(opts: WorkQueueOptions = {}) {
    this.baseDelayMs = opts.baseDelayMs ?? WORKQUEUE_DEFAULTS.baseDelayMs;
    this.maxDelayMs = opts.maxDelayMs ?? WORKQUEUE_DEFAULTS.maxDelayMs;
    this.clock = opts.clock ?? systemClock;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
    } else this.queue.push(key);
  }

  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    const at = this.clock.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    pending?.timer.cancel();
    const timer = this.clock.setTimer(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.delayed.set(key, { at, timer });
  }

  /** Requeues after this key's next backoff delay; returns that delay. */
  addRateLimited(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(n, 30));
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears the key's failure count (call after a success). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key to process; undefined once the queue is shut down. */
  async get(): Promise<string | undefined> {
    if (this.shuttingDown) return undefined;
    const key = this.queue.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      return key;
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks the key finished; if it was added meanwhile it goes back in the queue. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      this.add(key);
    }
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const d of this.delayed.values()) d.timer.cancel();
    this.delayed.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  get length(): number {
    return this.queue.length;
  }

  isProcessing(key: string): boolean {
    return this.processing.has(key);
  }
}

/** What a handler asks for after a success. */
export interface HandlerResult {
  /** Process the key again after this long (polling something that has no watch). */
  requeueAfterMs?: number;
}

/**
 * Runs `concurrency` workers over the queue until it shuts down. A handler that throws is retried
 * with backoff (and `onError` told); one that returns clears the backoff. Resolves when every
 * worker has exited.
 */
export async function processQueue(
  queue: WorkQueue,
  handler: (key: string) => Promise<HandlerResult | void>,
  opts: { concurrency: number; onError: (key: string, err: unknown, retryInMs: number) => void },
): Promise<void> {
  const worker = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        const r = await handler(key);
        queue.forget(key);
        if (r?.requeueAfterMs !== undefined) queue.addAfter(key, r.requeueAfterMs);
      } catch (err) {
        opts.onError(key, err, queue.addRateLimited(key));
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency) }, worker));
}
