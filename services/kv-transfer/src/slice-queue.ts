/**
 * A KvSource fed by pushes: the producer calls `push` as each layer's K/V becomes ready (before
 * or after the transfer starts streaming) and `end` with the first token. Slices pushed before
 * `stream` are buffered and replayed; after it they go straight to the sender, synchronously.
 */
import type { FirstToken, KvSlice, KvSource } from './types.ts';

export class KvSliceQueue implements KvSource {
  private buffered: KvSlice[] = [];
  private emit: ((slice: KvSlice) => void) | null = null;
  private released = false;
  private resolveEnd!: (t: FirstToken) => void;
  private rejectEnd!: (err: unknown) => void;
  private readonly ended = new Promise<FirstToken>((resolve, reject) => {
    this.resolveEnd = resolve;
    this.rejectEnd = reject;
  });
  private markStreaming!: () => void;
  /** Resolves once the transfer was accepted and slices flow straight to the sender. */
  readonly streaming = new Promise<void>((r) => (this.markStreaming = r));
  /** Positions below this are not needed (the receiver holds them); set by `stream`. */
  protected fromToken = 0;

  /** `onRelease` frees whatever holds the KV (e.g. the engine's held request). */
  constructor(private readonly onRelease: () => void = () => undefined) {
    this.ended.catch(() => undefined); // observed by `stream`'s caller; never unhandled
  }

  push(slice: KvSlice): void {
    if (this.released) return;
    if (this.emit) this.emit(slice);
    else this.buffered.push(slice);
  }

  end(firstToken: FirstToken): void {
    this.resolveEnd(firstToken);
  }

  fail(err: unknown): void {
    this.rejectEnd(err);
  }

  stream(fromToken: number, emit: (slice: KvSlice) => void): Promise<FirstToken> {
    this.fromToken = fromToken;
    this.emit = emit;
    const replay = this.buffered;
    this.buffered = [];
    for (const s of replay) emit(s);
    this.markStreaming();
    return this.ended;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.buffered = [];
    this.onRelease();
  }
}

/** A finished source over ready slices (tests, benchmarks, KV already held in full). */
export function slicesSource(slices: readonly KvSlice[], firstToken: FirstToken, onRelease?: () => void): KvSliceQueue {
  const q = new KvSliceQueue(onRelease);
  for (const s of slices) q.push(s);
  q.end(firstToken);
  return q;
}
