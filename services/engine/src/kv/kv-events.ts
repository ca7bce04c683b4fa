/**
 * KV events: what a worker's cache gained and lost, in order, for the router's prefix index.
 *
 * Modelled on vLLM's BlockStored / BlockRemoved / AllBlocksCleared. Every event carries `seq`,
 * which starts at 1 and grows by exactly 1 per event of one manager, so a consumer that sees
 * seq jump (or meets a worker for the first time) knows it missed something and asks for a
 * snapshot (BlockManager.snapshot(), whose `seq` is the last event emitted; resume at seq+1).
 *
 * Replaying the events in seq order onto an empty set of hashes ('stored' adds, 'removed'
 * deletes, 'cleared' empties) yields exactly the manager's cached hashes at that seq.
 *
 * Listeners run synchronously inside the manager call that caused the event. They must not call
 * back into the manager, and must not mutate the (frozen) event. A listener that throws is
 * reported through `onListenerError` and the manager carries on; the other listeners still run.
 */
import type { BlockHash } from './block-hash.ts';

/** Full blocks newly cached: a contiguous chain; `parentHash` is the block before hashes[0]. */
export interface KvStoredEvent {
  readonly type: 'stored';
  readonly seq: number;
  /** null when hashes[0] is the first block of a prompt. */
  readonly parentHash: BlockHash | null;
  readonly hashes: readonly BlockHash[];
  readonly blockSize: number;
}

/** Cached blocks evicted (their hashes are no longer held by this worker). */
export interface KvRemovedEvent {
  readonly type: 'removed';
  readonly seq: number;
  readonly hashes: readonly BlockHash[];
}

/** Every cached hash dropped at once (resetPrefixCache). */
export interface KvClearedEvent {
  readonly type: 'cleared';
  readonly seq: number;
}

export type KvEvent = KvStoredEvent | KvRemovedEvent | KvClearedEvent;
export type KvEventListener = (event: KvEvent) => void;
export type KvListenerErrorHandler = (error: unknown, event: KvEvent) => void;

function defaultListenerErrorHandler(error: unknown, event: KvEvent): void {
  console.error(`kv event listener failed on ${event.type} seq=${event.seq}:`, error);
}

/** Numbers events and fans them out; one per BlockManager. */
export class KvEventEmitter {
  private readonly listeners = new Set<KvEventListener>();
  private readonly onListenerError: KvListenerErrorHandler;
  private seq = 0;

  constructor(onListenerError: KvListenerErrorHandler = defaultListenerErrorHandler) {
    this.onListenerError = onListenerError;
  }

  /** seq of the last event emitted; 0 before the first. */
  get lastSeq(): number {
    return this.seq;
  }

  /** Returns the unsubscribe function (idempotent). Subscribing the same function twice is a no-op. */
  onEvent(listener: KvEventListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** No event for an empty chain: seq only counts events that change the cache. */
  emitStored(parentHash: BlockHash | null, hashes: readonly BlockHash[], blockSize: number): void {
    if (hashes.length === 0) return;
    this.emit({ type: 'stored', seq: this.nextSeq(), parentHash, hashes: Object.freeze([...hashes]), blockSize });
  }

  emitRemoved(hashes: readonly BlockHash[]): void {
    if (hashes.length === 0) return;
    this.emit({ type: 'removed', seq: this.nextSeq(), hashes: Object.freeze([...hashes]) });
  }

  emitCleared(): void {
    this.emit({ type: 'cleared', seq: this.nextSeq() });
  }

  private nextSeq(): number {
    return ++this.seq;
  }

  private emit(event: KvEvent): void {
    Object.freeze(event);
    // Iterate a copy: a listener may unsubscribe (itself or another) while we deliver.
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.reportListenerError(error, event);
      }
    }
  }

  private reportListenerError(error: unknown, event: KvEvent): void {
    try {
      this.onListenerError(error, event);
    } catch (reportError) {
      // The reporter itself failed: fall back to the default rather than break the manager.
      defaultListenerErrorHandler(new AggregateError([error, reportError], 'listener and reporter failed'), event);
    }
  }
}
