/**
 * Everything the router knows about the fleet besides its accounting: the live registry
 * (heartbeats), the event-fed prefix index, the latest LoadReport per worker, expert profiles by
 * prefix and per-worker expert load (MoE). `routingState(loads)` freezes it, with an accounting
 * view, into the RoutingState one decision reads.
 */
import type { LoadReport } from '@duet/core';
import { ExpertLoadTracker, PrefixProfiles } from './experts/index.ts';
import { PrefixIndex } from './index/index.ts';
import { PendingPrefixes } from './index/pending-prefixes.ts';
import type { RoutingState, WorkerLoadView } from './plugins/types.ts';
import type { WorkerRegistry } from './registry.ts';

export class FleetState {
  readonly profiles = new PrefixProfiles();
  readonly experts = new ExpertLoadTracker();
  /** Prompts just placed, until their KV events arrive (see pending-prefixes.ts). */
  readonly pending: PendingPrefixes;
  private readonly reports = new Map<string, LoadReport>();

  constructor(
    readonly registry: WorkerRegistry,
    private readonly random: () => number = Math.random,
    readonly index: PrefixIndex = new PrefixIndex(),
    /** Clock of pending-prefix expiry (the simulator passes its own). */
    now: () => number = Date.now,
  ) {
    this.pending = new PendingPrefixes({ now });
  }

  /** Keeps the newest report per worker (by seq; seq 1 again means the worker restarted). */
  onLoadReport(r: LoadReport): boolean {
    const prev = this.reports.get(r.workerId);
    if (prev && r.seq <= prev.seq && r.seq !== 1n) return false;
    this.reports.set(r.workerId, r);
    if (r.expertTokens.length) this.experts.onReport(r.workerId, r.expertTokens);
    return true;
  }

  /** The worker left (registry): forget its reports and expert load. The index is KvEventSync's. */
  forget(workerId: string): void {
    this.reports.delete(workerId);
    this.experts.dropWorker(workerId);
    this.pending.removeWorker(workerId);
  }

  routingState(loads: ReadonlyMap<string, WorkerLoadView>): RoutingState {
    const { index, profiles, experts, pending } = this;
    return {
      workers: this.registry.live(),
      loads,
      reports: this.reports,
      matchPrefix: (hashes) => mergeMax(index.match(hashes), pending.match(hashes)),
      predictProfile: (hashes) => profiles.predict(hashes),
      expertMix: (id) => experts.mix(id),
      expertPressure: (id) => experts.pressure(id),
      random: this.random,
    };
  }
}

/** Per worker, the larger of the two leading-block counts (into `a`). */
function mergeMax(a: Map<string, number>, b: ReadonlyMap<string, number>): Map<string, number> {
  b.forEach((n, w) => {
    if (n > (a.get(w) ?? 0)) a.set(w, n);
  });
  return a;
}
