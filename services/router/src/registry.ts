/**
 * The live fleet, from heartbeats alone: every WorkerHeartbeat carries the worker's full
 * WorkerInfo, so a router that starts late learns the fleet within one interval. A worker is
 * live until `missedBeats × interval_ms` pass without a beat, or until it says STOPPING.
 * The clock is injected so expiry is tested without sleeping.
 */
import { WorkerRole, WorkerState, type WorkerHeartbeat, type WorkerInfo } from '@duet/core';

export interface LiveWorker {
  info: WorkerInfo;
  state: WorkerState;
  intervalMs: number;
  lastSeenMs: number;
  /** Highest heartbeat seq seen (a beat older than it is a reordered duplicate, dropped). */
  seq: bigint;
}

export const canDecode = (w: LiveWorker): boolean => w.info.role === WorkerRole.DECODE || w.info.role === WorkerRole.BOTH;
export const isPrefillOnly = (w: LiveWorker): boolean => w.info.role === WorkerRole.PREFILL;

export class WorkerRegistry {
  private readonly workers = new Map<string, LiveWorker>();
  /** live()'s sorted answer, rebuilt only when a worker joins, changes state or leaves. */
  private sorted: LiveWorker[] | null = null;

  /** `onGone` hears every worker that leaves: expired, or said STOPPING. */
  constructor(
    private readonly missedBeats: number,
    private readonly now: () => number = Date.now,
    private readonly onGone: (workerId: string) => void = () => {},
  ) {}

  /** Applies a beat; returns true when the worker is new to this registry. */
  observe(hb: WorkerHeartbeat): boolean {
    const info = hb.worker;
    if (!info?.workerId) return false;
    const known = this.workers.get(info.workerId);
    if (hb.state === WorkerState.STOPPING) {
      if (this.workers.delete(info.workerId)) {
        this.sorted = null;
        this.onGone(info.workerId);
      }
      return false;
    }
    if (known && hb.seq <= known.seq && hb.seq !== 1n) return false; // seq 1 again: the worker restarted
    this.sorted = null; // the entry object is replaced
    this.workers.set(info.workerId, { info, state: hb.state, intervalMs: hb.intervalMs || 1000, lastSeenMs: this.now(), seq: hb.seq });
    return !known;
  }

  /**
   * Drops expired workers and returns the live ones (any state), ordered by id for stable
   * round-robin. The array is cached until the fleet changes: callers must not mutate it.
   */
  live(): LiveWorker[] {
    const t = this.now();
    // Once per decision: no per-entry [id, worker] pairs (values() only; a worker's key is its id).
    let expired: string[] | null = null;
    for (const w of this.workers.values()) if (t - w.lastSeenMs > this.missedBeats * w.intervalMs) (expired ??= []).push(w.info.workerId);
    if (expired) {
      for (const id of expired) {
        this.workers.delete(id);
        this.onGone(id);
      }
      this.sorted = null;
    }
    this.sorted ??= [...this.workers.values()].sort((a, b) => (a.info.workerId < b.info.workerId ? -1 : 1));
    return this.sorted;
  }

  get size(): number {
    return this.workers.size;
  }
}
