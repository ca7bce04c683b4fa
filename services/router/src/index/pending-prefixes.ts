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
 * block (and the last) is recorded, and match() binary-searches the new prompt's sampled positions,
 * so its answer is exact to within stride − 1 blocks, for O(log(L / stride)) lookups per worker.
 * Bounded: at most `capacity` recorded hashes (oldest first out), each expiring after `ttlMs`.
 */

/**
 * The workers expected to hold one recorded hash (as numbers, see PendingPrefixes.numberOf), and
 * until when: parallel arrays, 1–2 long for a private prompt, most of the fleet for a popular
 * system prompt (then match() scans them for every worker it searches: integers compare fast).
 */
interface Entry {
  workers: number[];
  expires: number[];
}

export interface PendingPrefixesOptions {
  ttlMs?: number;
  stride?: number;
  capacity?: number;
  now?: () => number;
}

export class PendingPrefixes {
  private readonly table = new Map<string, Entry>();
  /** Worker id ↔ number (every id ever recorded; a fleet's ids, so small). */
  private readonly numbers = new Map<string, number>();
  private readonly ids: string[] = [];
  private readonly ttlMs: number;
  private readonly stride: number;
  private readonly capacity: number;
  private readonly now: () => number;

  constructor(o: PendingPrefixesOptions = {}) {
    this.ttlMs = o.ttlMs ?? 30_000;
    this.stride = o.stride ?? 16;
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
    const ids = [...new Set(workerIds)].map((w) => this.numberOf(w));
    for (let i = this.stride - 1; i < n; i += this.stride) this.put(blockHashes[i], ids, expires);
    if (n % this.stride !== 0) this.put(blockHashes[n - 1], ids, expires);
  }

  /**
   * Leading blocks each worker is expected to hold (multiples of the stride, or the whole prompt).
   * A record inserts its sampled positions in order and the table evicts oldest first, so for one
   * worker the recorded positions of a prompt form a prefix: a binary search over the sampled
   * positions finds how deep each worker goes — O(log(L / stride)) lookups per worker seen at the
   * first position (usually one or two).
   */
  match(blockHashes: readonly string[]): Map<string, number> {
    const out = new Map<string, number>();
    const n = blockHashes.length;
    if (this.table.size === 0 || n === 0) return out;
    const t = this.now();
    const full = Math.floor(n / this.stride);
    const count = full + (n % this.stride !== 0 ? 1 : 0);
    const pos = (k: number): number => (k < full ? k * this.stride + this.stride - 1 : n - 1);
    // Entries by sampled position, looked up once per match (workers' searches share most probes).
    const entries: (Entry | null | undefined)[] = new Array<Entry | null | undefined>(count);
    const holds = (k: number, w: number): boolean => {
      let e = entries[k];
      if (e === undefined) entries[k] = e = this.table.get(blockHashes[pos(k)]) ?? null;
      if (e === null) return false;
      const j = e.workers.indexOf(w);
      return j >= 0 && e.expires[j] > t;
    };
    const first = this.table.get(blockHashes[pos(0)]);
    if (!first) return out;
    entries[0] = first;
    for (let j = 0; j < first.workers.length; j++) {
      const w = first.workers[j];
      if (!(first.expires[j] > t)) continue;
      let lo = 0; // holds(lo, w)
      let hi = count; // first index not known to hold
      while (hi - lo > 1) {
        const mid = (lo + hi) >>> 1;
        if (holds(mid, w)) lo = mid;
        else hi = mid;
      }
      out.set(this.ids[w], pos(lo) + 1);
    }
    return out;
  }

  /** Forgets a worker (it left the fleet). O(recorded hashes). */
  removeWorker(workerId: string): void {
    const w = this.numbers.get(workerId);
    if (w === undefined) return;
    for (const [h, e] of this.table) {
      const j = e.workers.indexOf(w);
      if (j < 0) continue;
      e.workers.splice(j, 1);
      e.expires.splice(j, 1);
      if (e.workers.length === 0) this.table.delete(h);
    }
  }

  /** Insertion order is the eviction order (oldest recorded first); a re-recorded hash keeps its place. */
  private numberOf(workerId: string): number {
    let n = this.numbers.get(workerId);
    if (n === undefined) this.numbers.set(workerId, (n = this.ids.push(workerId) - 1));
    return n;
  }

  private put(hash: string, workerIds: readonly number[], expires: number): void {
    const e = this.table.get(hash);
    if (!e) {
      this.table.set(hash, { workers: [...workerIds], expires: workerIds.map(() => expires) });
      if (this.table.size > this.capacity) this.table.delete(this.table.keys().next().value!);
      return;
    }
    for (const w of workerIds) {
      const j = e.workers.indexOf(w);
      if (j >= 0) {
        e.expires[j] = expires;
      } else {
        e.workers.push(w);
        e.expires.push(expires);
      }
    }
  }
}
