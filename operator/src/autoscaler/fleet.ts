/**
 * The autoscaler's picture of the fleet, built only from what workers and gateways push
 * (heartbeats, LoadReports, SloReports; nothing is scraped), and its reduction to the planner's
 * per-pool signals. Pure: the NATS subscriptions live in collector.ts, the clock is an argument.
 *
 *   pool      prefill = role PREFILL; decode = role DECODE or BOTH
 *   live      a heartbeat within missedBeats × its interval, and not STOPPING
 *   counted   live and READY: a draining worker's load is finishing and is not coming back
 *
 *   prefill.queuedPromptTokens = Σ inflightPrefillTokens over counted prefill workers
 *   decode.kvUtilization       = mean of used / (used + free) over counted decode workers
 *   decode.runningSequences    = Σ (running + waiting) over counted decode workers
 *   ttftP90Ms, tpotP90Ms       = mean of the gateways' p90s over SloReports received in the last
 *                                sloWindowMs, weighted by their finished requests
 *
 * A signal is null when nothing reported it (no counted worker with a LoadReport, no finished
 * request in the window), so the planner skips that rule instead of reading silence as idleness.
 */
import { WorkerRole, WorkerState, type LoadReport, type SloReport, type WorkerHeartbeat } from '@duet/core';
import type { PlannerSignals, PoolName } from '../planner/index.ts';

export interface WorkerView {
  workerId: string;
  pool: PoolName;
  state: WorkerState;
  lastBeatMs: number;
  intervalMs: number;
  beatSeq: bigint;
  load: LoadReport | null;
}

export interface FleetOptions {
  /** A worker without a beat for this many of its intervals is dead. */
  missedBeats: number;
  /** SLO reports older than this are dropped (normally the planning interval). */
  sloWindowMs: number;
}

export class Fleet {
  private readonly workers = new Map<string, WorkerView>();
  private slo: Array<{ atMs: number; report: SloReport }> = [];

  constructor(private readonly o: FleetOptions) {}

  /** A heartbeat; older beats of a worker than the last seen are ignored, a restart (seq 1) is not. */
  onHeartbeat(hb: WorkerHeartbeat, nowMs: number): void {
    const id = hb.worker?.workerId;
    const pool = poolOf(hb.worker?.role);
    if (!id || !pool) return;
    const prev = this.workers.get(id);
    if (prev && hb.seq <= prev.beatSeq && hb.seq !== 1n) return;
    if (hb.state === WorkerState.STOPPING) {
      this.workers.delete(id);
      return;
    }
    this.workers.set(id, { workerId: id, pool, state: hb.state, lastBeatMs: nowMs, intervalMs: hb.intervalMs || 1000, beatSeq: hb.seq, load: prev?.load ?? null });
  }

  /** A LoadReport of a known worker (reports before its first beat are dropped; it beats first). */
  onLoad(report: LoadReport): void {
    const w = this.workers.get(report.workerId);
    if (!w) return;
    if (w.load && report.seq <= w.load.seq && report.seq !== 1n) return;
    w.load = report;
  }

  onSlo(report: SloReport, nowMs: number): void {
    this.slo.push({ atMs: nowMs, report });
  }

  /** Forget what is dead or stale as of `nowMs`. */
  expire(nowMs: number): void {
    for (const [id, w] of this.workers) if (nowMs - w.lastBeatMs > this.o.missedBeats * w.intervalMs) this.workers.delete(id);
    this.slo = this.slo.filter((s) => nowMs - s.atMs <= this.o.sloWindowMs);
  }

  /** Live workers of a pool (after `expire`), sorted by id. */
  live(pool?: PoolName): WorkerView[] {
    return [...this.workers.values()].filter((w) => pool === undefined || w.pool === pool).sort((a, b) => a.workerId.localeCompare(b.workerId));
  }

  get(workerId: string): WorkerView | undefined {
    return this.workers.get(workerId);
  }

  signals(nowMs: number): PlannerSignals {
    this.expire(nowMs);
    const counted = (pool: PoolName): LoadReport[] =>
      this.live(pool).filter((w) => w.state === WorkerState.READY && w.load !== null).map((w) => w.load!);
    const prefill = counted('prefill');
    const decode = counted('decode');
    const sum = (xs: LoadReport[], f: (r: LoadReport) => number): number | null => (xs.length === 0 ? null : xs.reduce((a, r) => a + f(r), 0));
    const kv = decode.filter((r) => r.kvBlocksUsed + r.kvBlocksFree > 0);
    return {
      prefill: {
        queuedPromptTokens: sum(prefill, (r) => r.inflightPrefillTokens),
        ttftP90Ms: this.weightedP90((r) => r.ttftP90Ms),
      },
      decode: {
        kvUtilization: kv.length === 0 ? null : kv.reduce((a, r) => a + r.kvBlocksUsed / (r.kvBlocksUsed + r.kvBlocksFree), 0) / kv.length,
        runningSequences: sum(decode, (r) => r.runningSeqs + r.waitingSeqs),
        tpotP90Ms: this.weightedP90((r) => r.tpotP90Ms, (r) => r.tpotP90Ms > 0),
      },
    };
  }

  private weightedP90(f: (r: SloReport) => number, has: (r: SloReport) => boolean = () => true): number | null {
    let weight = 0;
    let total = 0;
    for (const { report } of this.slo) {
      if (report.finishedRequests === 0 || !has(report)) continue;
      weight += report.finishedRequests;
      total += f(report) * report.finishedRequests;
    }
    return weight === 0 ? null : total / weight;
  }
}

function poolOf(role: WorkerRole | undefined): PoolName | null {
  if (role === WorkerRole.PREFILL) return 'prefill';
  if (role === WorkerRole.DECODE || role === WorkerRole.BOTH) return 'decode';
  return null;
}

/** What a worker holds by its last LoadReport (victim choice: the least loaded drains fastest). */
export function heldWork(w: WorkerView | undefined): number {
  if (!w?.load) return 0;
  return w.load.runningSeqs + w.load.waitingSeqs;
}
