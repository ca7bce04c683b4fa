/**
 * Which workers are alive, from their heartbeats (`duet.workers.heartbeat.*`). A worker is alive
 * while its last beat is younger than `missedBeats × interval_ms` and it did not say STOPPING.
 * The clock is injected so tests can move time.
 */
import { WorkerRole, WorkerState, type WorkerHeartbeat } from '@duet/core';

interface Seen {
  role: WorkerRole;
  state: WorkerState;
  atMs: number;
  intervalMs: number;
}

export class WorkerLiveness {
  private readonly workers = new Map<string, Seen>();

  constructor(
    private readonly now: () => number = Date.now,
    /** As the router's default: a long engine step delays beats by seconds (see router config). */
    private readonly missedBeats = 10,
  ) {}

  observe(hb: WorkerHeartbeat): void {
    const id = hb.worker?.workerId;
    if (!id) return;
    this.workers.set(id, { role: hb.worker!.role, state: hb.state, atMs: this.now(), intervalMs: Math.max(1, hb.intervalMs) });
  }

  isAlive(workerId: string): boolean {
    const w = this.workers.get(workerId);
    if (!w || w.state === WorkerState.STOPPING) return false;
    return this.now() - w.atMs <= this.missedBeats * w.intervalMs;
  }

  /** A live worker that can decode (role decode or both) and is not draining. */
  hasLiveDecodeWorker(): boolean {
    for (const [id, w] of this.workers) {
      const decodes = w.role === WorkerRole.DECODE || w.role === WorkerRole.BOTH;
      if (decodes && w.state !== WorkerState.DRAINING && this.isAlive(id)) return true;
    }
    return false;
  }
}
