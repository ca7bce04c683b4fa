/**
 * The accounting state machine in plain TypeScript: per-worker counters plus the open reservations
 * that explain them. InMemoryAccounting is this ledger; the Redis Lua scripts (lua.ts) implement
 * the same transitions step for step, and the shared contract tests run against both.
 *
 * Invariant: for every worker, each counter equals the sum of the held parts of the open entries
 * on it (counters never go below 0; a worker with all counters at 0 is not listed).
 *
 * Expiry: entries are kept in a Map in reservation order. With one TTL and a non-decreasing clock
 * that is also expiry order, so a sweep stops at the first live entry: O(expired + 1).
 */
import { normalizeReservation, type AccountingView, type Reservation, type ReleasePhase, type WorkerLoad } from './types.ts';

/** One open reservation. `p` is the worker carrying the prefill part (the decode worker when local). */
export interface Entry {
  p: string;
  /** Prefill tokens still held (0 once the prefill part is released). */
  t: number;
  d: string;
  b: number;
  /** Decode part (blocks + one running sequence) still held. */
  dHeld: boolean;
  /** Reservation time and expiry, ms on the accounting clock. */
  at: number;
  exp: number;
}

type Counter = keyof WorkerLoad;

const NO_LOAD: WorkerLoad = { prefillTokens: 0, decodeBlocks: 0, runningSeqs: 0 };

export class Ledger {
  private versionNo = 0;
  /** Copy-on-write: once handed out in a view, the next change copies the Map (O(workers), no per-worker copies). */
  private loads = new Map<string, Readonly<WorkerLoad>>();
  private loadsShared = false;
  private readonly entries = new Map<string, Entry>();
  private cachedView: AccountingView | null = null;

  constructor(private readonly ttlMs: number) {}

  get version(): number {
    return this.versionNo;
  }

  get openReservations(): number {
    return this.entries.size;
  }

  /** A snapshot (frozen loads, a Map the ledger never changes again), shared by reads until the next mutation. */
  view(): AccountingView {
    if (this.cachedView?.version === this.versionNo) return this.cachedView;
    this.loadsShared = true;
    return (this.cachedView = Object.freeze({ version: this.versionNo, loads: this.loads }));
  }

  /** Adds `r` (replacing an earlier entry of its request), sweeps what expired by nowMs: one version step. */
  reserve(r: Reservation, nowMs: number): void {
    const n = normalizeReservation(r);
    const old = this.entries.get(n.requestId);
    if (old) this.releaseParts(n.requestId, old, true, true);
    const e: Entry = { p: n.prefillWorkerId ?? n.decodeWorkerId, t: n.prefillTokens, d: n.decodeWorkerId, b: n.decodeBlocks, dHeld: true, at: nowMs, exp: nowMs + this.ttlMs };
    this.add(e.p, 'prefillTokens', e.t);
    this.add(e.d, 'decodeBlocks', e.b);
    this.add(e.d, 'runningSeqs', 1);
    this.entries.set(n.requestId, e);
    this.sweepExpired(nowMs);
    this.bump();
  }

  /** True when anything changed. */
  release(requestId: string, phase: ReleasePhase, workerId?: string): boolean {
    const e = this.entries.get(requestId);
    if (!e) return false;
    if (workerId !== undefined && workerId !== e.p && workerId !== e.d) return false;
    return this.mutated(this.releaseParts(requestId, e, true, phase === 'all'));
  }

  /** Releases entries whose expiry is ≤ nowMs; returns how many. */
  sweep(nowMs: number): number {
    const n = this.sweepExpired(nowMs);
    this.mutated(n > 0);
    return n;
  }

  dropWorker(workerId: string): boolean {
    const touched = this.releaseWorkerParts(workerId, Infinity);
    const hadLoad = this.loads.has(workerId);
    if (hadLoad) {
      this.loads = copyMap(this.loads);
      this.loads.delete(workerId);
      this.loadsShared = false;
    }
    return this.mutated(touched > 0 || hadLoad);
  }

  /** Releases `workerId`'s parts of entries reserved at or before `cutoffMs`; returns how many entries. */
  reconcileIdle(workerId: string, cutoffMs: number): number {
    if (!this.loads.has(workerId)) return 0;
    const n = this.releaseWorkerParts(workerId, cutoffMs);
    this.mutated(n > 0);
    return n;
  }

  private releaseWorkerParts(workerId: string, cutoffMs: number): number {
    let n = 0;
    for (const [id, e] of [...this.entries]) {
      if (e.at > cutoffMs) continue;
      if (this.releaseParts(id, e, e.p === workerId, e.d === workerId)) n++;
    }
    return n;
  }

  private sweepExpired(nowMs: number): number {
    let n = 0;
    for (const [id, e] of this.entries) {
      if (e.exp > nowMs) break;
      this.releaseParts(id, e, true, true);
      n++;
    }
    return n;
  }

  /** Gives back the chosen parts of one entry; deletes it once nothing is held. True when anything changed. */
  private releaseParts(requestId: string, e: Entry, prefill: boolean, decode: boolean): boolean {
    let changed = false;
    if (prefill && e.t > 0) {
      this.add(e.p, 'prefillTokens', -e.t);
      e.t = 0;
      changed = true;
    }
    if (decode && e.dHeld) {
      this.add(e.d, 'decodeBlocks', -e.b);
      this.add(e.d, 'runningSeqs', -1);
      e.dHeld = false;
      changed = true;
    }
    if (e.t === 0 && !e.dHeld) {
      this.entries.delete(requestId);
      changed = true;
    }
    return changed;
  }

  private add(workerId: string, counter: Counter, delta: number): void {
    if (delta === 0) return;
    if (this.loadsShared) {
      this.loads = copyMap(this.loads);
      this.loadsShared = false;
    }
    const l = { ...(this.loads.get(workerId) ?? NO_LOAD) };
    l[counter] = Math.max(0, l[counter] + delta);
    if (l.prefillTokens === 0 && l.decodeBlocks === 0 && l.runningSeqs === 0) this.loads.delete(workerId);
    else this.loads.set(workerId, Object.freeze(l));
  }

  private mutated(changed: boolean): boolean {
    if (changed) this.bump();
    return changed;
  }

  private bump(): void {
    this.versionNo++;
  }
}

/** A copy of `m` filled through forEach: no iterator results or [key, value] pairs per entry, as `new Map(m)` allocates. */
function copyMap<K, V>(m: ReadonlyMap<K, V>): Map<K, V> {
  const out = new Map<K, V>();
  m.forEach((v, k) => out.set(k, v));
  return out;
}
