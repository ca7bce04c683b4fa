/**
 * The asynchronous driver of a synchronous Engine: services submit requests and read each one's
 * tokens as an async stream, while one loop runs `engine.step()` whenever there is work, yielding
 * to the event loop between steps so NATS and HTTP I/O keep flowing.
 *
 *   submit(req) ──▶ engine.addRequest ──▶ [step loop] ──▶ per-request queue ──▶ for await (ev of stream)
 *   cancel(id)  ──▶ engine.abort (blocks freed at once) ──▶ stream ends with reason 'abort'
 *
 * A step that throws fails every request it was running (their streams end with the error) and the
 * loop keeps going for new requests; it never dies silently.
 */
import type { Engine, RequestOutput, StepResult } from '../engine.ts';
import type { EngineRequest, ImportRequest } from '../requests.ts';
import type { FinishReason } from '../sched/sequence.ts';
import type { SampledToken } from '../sampling/sampler.ts';
import { AsyncQueue } from './async-queue.ts';

export type LoopEvent =
  | { type: 'tokens'; tokens: SampledToken[] }
  | { type: 'done'; finishReason: FinishReason; promptTokens: number; cachedTokens: number; outputTokens: number }
  | { type: 'error'; error: Error };

export interface EngineLoopHooks {
  /** After every step that ran tokens (metrics, load reports). */
  onStep?: (r: StepResult) => void;
}

export class EngineLoop {
  private readonly streams = new Map<string, AsyncQueue<LoopEvent>>();
  private running = false;
  private stopped = false;
  private idle: Array<() => void> = [];

  constructor(
    readonly engine: Engine,
    private readonly hooks: EngineLoopHooks = {},
  ) {}

  /** Queues a request (throws InvalidRequestError at once) and returns its event stream. */
  submit(req: EngineRequest): AsyncIterable<LoopEvent> {
    this.engine.addRequest(req);
    return this.track(req.id);
  }

  /**
   * Starts decoding a request whose KV was imported (`finishImport` is called here, with the
   * tokens the sender sampled when the import did not carry them already).
   */
  resumeImported(req: Pick<ImportRequest, 'id'>, generated: readonly SampledToken[] = []): AsyncIterable<LoopEvent> {
    this.engine.finishImport(req.id, generated);
    const q = this.track(req.id);
    this.kick();
    return q;
  }

  private track(id: string): AsyncQueue<LoopEvent> {
    const q = new AsyncQueue<LoopEvent>();
    this.streams.set(id, q);
    this.kick();
    return q;
  }

  /** Aborts a request wherever it is; its stream ends with 'abort'. False if unknown. */
  cancel(id: string): boolean {
    const known = this.engine.abort(id);
    const q = this.streams.get(id);
    if (q) {
      q.push({ type: 'done', finishReason: 'abort', promptTokens: 0, cachedTokens: 0, outputTokens: 0 });
      q.close();
      this.streams.delete(id);
    }
    return known || q !== undefined;
  }

  get activeRequests(): number {
    return this.streams.size;
  }

  /** Resolves when the loop has no work (used by drains and tests). */
  whenIdle(): Promise<void> {
    if (!this.running && !this.engine.hasWork()) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Stops stepping; pending streams end with an error. */
  stop(): void {
    this.stopped = true;
    for (const [id, q] of this.streams) {
      q.push({ type: 'error', error: new Error(`engine loop stopped with request ${id} unfinished`) });
      q.close();
    }
    this.streams.clear();
  }

  /** Schedules the loop if it is not running. */
  kick(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    setImmediate(() => this.run());
  }

  private run(): void {
    if (this.stopped || !this.engine.hasWork()) {
      this.running = false;
      this.idle.splice(0).forEach((r) => r());
      return;
    }
    try {
      const r = this.engine.step();
      this.deliver(r.outputs);
      if (r.scheduledTokens > 0) this.hooks.onStep?.(r);
    } catch (err) {
      this.failAll(err instanceof Error ? err : new Error(String(err)));
    }
    setImmediate(() => this.run());
  }

  private deliver(outputs: RequestOutput[]): void {
    for (const o of outputs) {
      const q = this.streams.get(o.id);
      if (!q) continue;
      if (o.newTokens.length > 0) q.push({ type: 'tokens', tokens: o.newTokens });
      if (o.finished) {
        q.push({ type: 'done', finishReason: o.finishReason!, promptTokens: o.promptTokens, cachedTokens: o.cachedTokens, outputTokens: o.outputTokens });
        q.close();
        this.streams.delete(o.id);
      }
    }
  }

  private failAll(error: Error): void {
    for (const [id, q] of this.streams) {
      this.engine.abort(id);
      q.push({ type: 'error', error });
      q.close();
    }
    this.streams.clear();
  }
}
