/**
 * PendingPrefixes: prompts the router has just placed, whose KV events have not arrived yet.
 *
 * A worker publishes a block's KV event only once the block is computed, so for the whole prefill
 * of a long prompt (seconds on a CPU engine, more under load) the event-fed index does not know
 * the worker will hold it, and a burst of requests sharing a new system prompt would scatter over
 * the fleet, each computing it again. Recording each placement here closes that gap: for `ttlMs`
 * the chosen workers count as holding the prompt's blocks.
 *
 * Chained hashes make a sample enough: block i's hash covers every block before it, so a new
 * prompt whose block i equals a recorded block i shares all i + 1 leading blocks. Every `stride`-th
 * block (and the last) is recorded, and match() walks the new prompt's sampled positions until none
 * matches, so its answer is exact to within stride − 1 blocks, for L/stride lookups at most.
 * Bounded: at most `capacity` recorded hashes (oldest first out), each expiring after `ttlMs`.
 */

interface Entry {
  /** workerId → expiry (ms). */
  workers: Map<string, number>;
}

export interface PendingPrefixesOptions {
  ttlMs?: number;
  stride?: number;
  capacity?: number;
  now?: () => number;
}

export class PendingPrefixes {
  private readonly table = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly stride: number;
  private readonly capacity: number;
  private readonly now: () => number;

  constructor(o: PendingPrefixesOptions = {}) {
    this.ttlMs = o.ttlMs ?? 30_000;
    this.stride = o.stride ?? 8;
    this.capacity = o.capacity ?? 200_000;
    this.now = o.now ?? Date.now;
  }

  get size(): number {
    return this.table.size;
  }

  /** The workers that will hold `blockHashes` (a prefill worker, and the decode worker it streams to). */
  record(blockHashes: readonly string[], workerIds: readonly string[]): void {
    const n = blockHashes.length;
    if (n === 0 || workerIds.length === 0) return;
    const expires = this.now() + this.ttlMs;
    for (let i = this.stride - 1; i < n; i += this.stride) this.put(blockHashes[i], workerIds, expires);
    if (n % this.stride !== 0) this.put(blockHashes[n - 1], workerIds, expires);
  }

  /** Leading blocks each worker is expected to hold (multiples of the stride, or the whole prompt). */
  match(blockHashes: readonly string[]): Map<string, number> {
    const out = new Map<string, number>();
    const n = blockHashes.length;
    if (this.table.size === 0 || n === 0) return out;
    const t = this.now();
    let alive: Set<string> | null = null;
    const positions = this.positions(n);
    for (const i of positions) {
      const e = this.table.get(blockHashes[i]);
      const next = new Set<string>();
      if (e) for (const [w, exp] of e.workers) if (exp > t && (alive === null || alive.has(w))) next.add(w);
      if (next.size === 0) break;
      for (const w of next) out.set(w, i + 1);
      alive = next;
    }
    return out;
  }

  /** Forgets a worker (it left the fleet). O(recorded hashes). */
  removeWorker(workerId: string): void {
    for (const [h, e] of this.table) if (e.workers.delete(workerId) && e.workers.size === 0) this.table.delete(h);
  }

  private positions(n: number): number[] {
    const out: number[] = [];
    for (let i = this.stride - 1; i < n; i += this.stride) out.push(i);
    if (n % this.stride !== 0) out.push(n - 1);
    return out;
  }

  private put(hash: string, workerIds: readonly string[], expires: number): void {
    let e = this.table.get(hash);
    if (e) this.table.delete(hash);
    else e = { workers: new Map() };
    for (const w of workerIds) e.workers.set(w, expires);
    this.table.set(hash, e);
    if (this.table.size > this.capacity) this.table.delete(this.table.keys().next().value!);
  }
}
