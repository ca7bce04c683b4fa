/**
 * PrefixIndex: which worker holds which KV block, event-sourced from the workers' KV events
 * (proto/duet/v1/kv_events.proto), and how many LEADING blocks of a prompt each worker holds.
 *
 * Block hashes are chained (hash i covers tokens 0…16i+15 and every block before), so a flat
 * hash → workers map is enough: no tree is needed to know that a hit means "the same prefix".
 * Prefix caching reuses only a contiguous prefix, so match() counts the run of leading blocks a
 * worker holds and ignores any hit after its first miss.
 *
 * Sequencing, per worker (lastSeq = seq of the last event applied, 0 = none):
 *   - events ≤ lastSeq are skipped (duplicates); a batch that straddles lastSeq is applied from
 *     lastSeq + 1 on; a batch with nothing new is 'stale'.
 *   - an event > lastSeq + 1 is a gap: the worker is marked needsSnapshot and that batch, and
 *     every batch after it, is buffered (up to maxBufferedEvents; the oldest go first) instead
 *     of applied. Its current blocks keep answering match() meanwhile.
 *   - loadSnapshot replaces the worker's blocks, sets lastSeq = snap.seq and replays the buffer,
 *     so events published between the snapshot request and its reply are not lost (those
 *     ≤ snap.seq are skipped; a buffer that does not continue at snap.seq + 1 is a new gap).
 *   - a worker seen for the first time is applied directly when its batch starts at seq 1 (the
 *     proto's contract: seq 1… replayed onto nothing is the whole cache); otherwise it needs a
 *     snapshot, like a gap.
 *   - a known worker whose batch starts at seq 1 again has restarted: its blocks are dropped and
 *     the batch applied onto nothing. (NATS core never redelivers, so seq 1 twice is a restart;
 *     were it a duplicate after all, the worker's next batch is a gap and its snapshot heals it.)
 *   - expectSnapshot marks a worker before a snapshot request, so nothing applied between the
 *     request and the reply can be overwritten by the (older) snapshot.
 *
 * Costs (B = distinct blocks indexed, b = hashes in one event, L = prompt blocks,
 * W = ⌈worker slots / 32⌉; see block-table.ts for the layout):
 *   apply stored / removed    O(b) expected, no allocation per event (hashes parsed in place)
 *   apply cleared, removeWorker, loadSnapshot of a worker that holds blocks:
 *                             O(rows) ≈ O(B) scan of the table (rare events)
 *   match                     O(L′ · W), L′ ≤ L: stops at the first block no matching worker
 *                             holds (lookups go 32 at a time, so their cache misses overlap);
 *                             allocates only the result Map (one entry per matching worker)
 *   memory                    rows · (8 + 4W) bytes, rows = the power of two ≥ B / 0.75, so
 *                             16-byte rows with ≤ 64 workers: 21–43 bytes per distinct block,
 *                             whatever the number of workers holding it. bench:router measures
 *                             it (index_bytes_per_block): 33.5–33.7 at 64 workers and 10^6
 *                             blocks (2^21 rows = 32 MiB), nothing else grows with B.
 *
 * Tiers: a worker may report the tier (medium) a block lives on; one tier per (worker, hash),
 * the latest stored wins. Our workers report one tier (0 = device memory), and the wire has no
 * tier field yet, so tiers ≠ 0 come only from callers of applyBatch(…, { tier }). They live in a
 * side map that stays empty (and costs nothing) while every tier is 0; match() ignores tiers.
 */
import type { KvEvent, KvEventBatch, KvSnapshotResponse } from '@duet/core';
import { BlockTable } from './block-table.ts';

export type ApplyResult = 'applied' | 'gap' | 'stale';
export type SnapshotResult = 'loaded' | 'stale';

export interface PrefixIndexOptions {
  /** Events buffered per worker while it awaits a snapshot; past it the oldest batches are dropped. */
  maxBufferedEvents?: number;
  /** Worker slots to size the table for (it widens on its own). */
  initialWorkerSlots?: number;
  /**
   * 'search' (default): O(log L) lookups per matching worker, exact when each worker's holdings are
   * prefix-closed, as the engine's tail-first eviction keeps them (BlockTable.matchLeadingSearch).
   * 'scan': one lookup per block until no worker matches, exact for any holdings.
   */
  match?: 'search' | 'scan';
}

export const PREFIX_INDEX_DEFAULTS = { maxBufferedEvents: 65_536, initialWorkerSlots: 64, match: 'search' } as const;

export interface PrefixIndexStats {
  workers: number;
  /** Distinct hashes. */
  blocks: number;
  /** (worker, hash) pairs. */
  entries: number;
  /** Bytes of the table's arrays. */
  tableBytes: number;
  eventsApplied: number;
  staleEvents: number;
  gaps: number;
  restarts: number;
  snapshotsLoaded: number;
  malformedHashes: number;
  awaitingSnapshot: number;
  bufferedEvents: number;
  droppedBufferedEvents: number;
}

interface Buffered {
  batch: KvEventBatch;
  tier: number;
}

interface WorkerEntry {
  readonly id: string;
  readonly slot: number;
  lastSeq: number;
  awaiting: boolean;
  buffer: Buffered[];
  buffered: number;
}

export class PrefixIndex {
  private readonly table: BlockTable;
  private readonly workers = new Map<string, WorkerEntry>();
  private readonly slotIds: string[] = [];
  private readonly freeSlots: number[] = [];
  /** `${slot}:${hash}` → tier, only for tiers ≠ 0. */
  private readonly tiers = new Map<string, number>();
  private readonly maxBufferedEvents: number;
  private outSlots: Int32Array;
  private outCounts: Int32Array;
  private readonly counts = { eventsApplied: 0, staleEvents: 0, gaps: 0, restarts: 0, snapshotsLoaded: 0, malformedHashes: 0, droppedBufferedEvents: 0 };

  private readonly matchMode: 'search' | 'scan';

  constructor(options: PrefixIndexOptions = {}) {
    const o = { ...PREFIX_INDEX_DEFAULTS, ...options };
    if (!Number.isInteger(o.maxBufferedEvents) || o.maxBufferedEvents < 1) throw new RangeError(`maxBufferedEvents must be a positive integer, got ${o.maxBufferedEvents}`);
    this.maxBufferedEvents = o.maxBufferedEvents;
    this.matchMode = o.match;
    this.table = new BlockTable(o.initialWorkerSlots);
    this.outSlots = new Int32Array(this.table.slotCapacity);
    this.outCounts = new Int32Array(this.table.slotCapacity);
  }

  /** Distinct hashes indexed. */
  get size(): number {
    return this.table.size;
  }

  hasWorker(workerId: string): boolean {
    return this.workers.has(workerId);
  }

  needsSnapshot(workerId: string): boolean {
    return this.workers.get(workerId)?.awaiting ?? false;
  }

  /** Number of blocks the worker holds (0 when unknown). O(1). */
  blocksOf(workerId: string): number {
    const w = this.workers.get(workerId);
    return w ? this.table.blocksOf(w.slot) : 0;
  }

  /** The worker's hashes, in no order. O(rows): for tests and debugging. */
  hashesOf(workerId: string): string[] {
    const w = this.workers.get(workerId);
    return w ? this.table.hashesOf(w.slot) : [];
  }

  /** Seq of the last event applied for the worker (undefined when unknown). */
  lastSeqOf(workerId: string): number | undefined {
    return this.workers.get(workerId)?.lastSeq;
  }

  workerIds(): string[] {
    return [...this.workers.keys()];
  }

  /** The tier the worker holds `hash` on, or undefined when it does not hold it. */
  tierOf(workerId: string, hash: string): number | undefined {
    const w = this.workers.get(workerId);
    if (!w || !this.table.has(hash, w.slot)) return undefined;
    return this.tiers.size === 0 ? 0 : (this.tiers.get(`${w.slot}:${hash}`) ?? 0);
  }

  /** Applies one worker's batch (see the sequencing rules above). An empty batch is a no-op. */
  applyBatch(batch: KvEventBatch, opts: { tier?: number } = {}): ApplyResult {
    const events = batch.events;
    if (events.length === 0) return 'applied';
    const first = Number(events[0].seq);
    let w = this.workers.get(batch.workerId);
    if (!w) {
      w = this.addWorker(batch.workerId);
      w.awaiting = first !== 1;
    } else if (!w.awaiting && first === 1 && w.lastSeq >= 1) {
      this.counts.restarts++;
      this.clearBlocks(w);
      w.lastSeq = 0;
    }
    return this.applyOrBuffer(w, batch, opts.tier ?? 0);
  }

  /**
   * Replaces the worker's blocks with the snapshot and replays what was buffered. A snapshot
   * older than what was applied, for a worker not awaiting one, is 'stale' and ignored.
   */
  loadSnapshot(snap: KvSnapshotResponse, opts: { tier?: number } = {}): SnapshotResult {
    const w = this.workers.get(snap.workerId) ?? this.addWorker(snap.workerId);
    const seq = Number(snap.seq);
    if (!w.awaiting && seq < w.lastSeq) return 'stale';
    const tier = opts.tier ?? 0;
    this.clearBlocks(w);
    for (const h of snap.hashes) this.storeHash(w.slot, h, tier);
    w.lastSeq = seq;
    w.awaiting = false;
    this.counts.snapshotsLoaded++;
    const pending = w.buffer;
    w.buffer = [];
    w.buffered = 0;
    for (const p of pending) this.applyOrBuffer(w, p.batch, p.tier);
    return 'loaded';
  }

  /** Marks the worker (known or not) as awaiting a snapshot: batches are buffered from now on. */
  expectSnapshot(workerId: string): void {
    (this.workers.get(workerId) ?? this.addWorker(workerId)).awaiting = true;
  }

  /** Drops the worker and all its blocks: O(rows). False when it was unknown. */
  removeWorker(workerId: string): boolean {
    const w = this.workers.get(workerId);
    if (!w) return false;
    this.clearBlocks(w);
    this.workers.delete(workerId);
    this.slotIds[w.slot] = '';
    this.freeSlots.push(w.slot);
    return true;
  }

  /**
   * For every worker holding blockHashes[0]: how many leading blocks of the prompt it holds.
   * Workers that do not hold the first block are absent from the map.
   */
  match(blockHashes: readonly string[]): Map<string, number> {
    const n =
      this.matchMode === 'search'
        ? this.table.matchLeadingSearch(blockHashes, this.outSlots, this.outCounts)
        : this.table.matchLeading(blockHashes, this.outSlots, this.outCounts);
    const out = new Map<string, number>();
    for (let i = 0; i < n; i++) out.set(this.slotIds[this.outSlots[i]], this.outCounts[i]);
    return out;
  }

  stats(): PrefixIndexStats {
    let awaiting = 0, buffered = 0;
    for (const w of this.workers.values()) {
      if (w.awaiting) awaiting++;
      buffered += w.buffered;
    }
    const t = this.table;
    return { workers: this.workers.size, blocks: t.size, entries: t.entries, tableBytes: t.bytes, ...this.counts, awaitingSnapshot: awaiting, bufferedEvents: buffered };
  }

  private addWorker(id: string): WorkerEntry {
    const slot = this.freeSlots.pop() ?? this.slotIds.length;
    if (slot >= this.table.slotCapacity) {
      this.table.ensureSlots(slot + 1);
      this.outSlots = new Int32Array(this.table.slotCapacity);
      this.outCounts = new Int32Array(this.table.slotCapacity);
    }
    this.slotIds[slot] = id;
    const w: WorkerEntry = { id, slot, lastSeq: 0, awaiting: false, buffer: [], buffered: 0 };
    this.workers.set(id, w);
    return w;
  }

  private applyOrBuffer(w: WorkerEntry, batch: KvEventBatch, tier: number): ApplyResult {
    if (w.awaiting) return (this.buffer(w, batch, tier), 'gap');
    let applied = 0;
    for (const e of batch.events) {
      const seq = Number(e.seq);
      if (seq <= w.lastSeq) {
        this.counts.staleEvents++;
        continue;
      }
      if (seq !== w.lastSeq + 1) {
        this.counts.eventsApplied += applied;
        this.counts.gaps++;
        w.awaiting = true;
        return (this.buffer(w, batch, tier), 'gap');
      }
      this.applyEvent(w, e, tier);
      w.lastSeq = seq;
      applied++;
    }
    this.counts.eventsApplied += applied;
    return applied > 0 ? 'applied' : 'stale';
  }

  private applyEvent(w: WorkerEntry, e: KvEvent, tier: number): void {
    const ev = e.event;
    if (ev.case === 'stored') {
      for (const h of ev.value.hashes) this.storeHash(w.slot, h, tier);
    } else if (ev.case === 'removed') {
      for (const h of ev.value.hashes) {
        this.table.remove(h, w.slot);
        if (this.tiers.size > 0) this.tiers.delete(`${w.slot}:${h}`);
      }
    } else if (ev.case === 'cleared') {
      this.clearBlocks(w);
    }
    // An event case this build does not know (a newer worker) changes nothing but its seq.
  }

  private storeHash(slot: number, hash: string, tier: number): void {
    if (this.table.add(hash, slot) < 0) {
      this.counts.malformedHashes++;
      return;
    }
    if (tier !== 0) this.tiers.set(`${slot}:${hash}`, tier);
    else if (this.tiers.size > 0) this.tiers.delete(`${slot}:${hash}`);
  }

  private clearBlocks(w: WorkerEntry): void {
    this.table.clearSlot(w.slot);
    if (this.tiers.size === 0) return;
    const prefix = `${w.slot}:`;
    for (const k of this.tiers.keys()) if (k.startsWith(prefix)) this.tiers.delete(k);
  }

  private buffer(w: WorkerEntry, batch: KvEventBatch, tier: number): void {
    w.buffer.push({ batch, tier });
    w.buffered += batch.events.length;
    while (w.buffered > this.maxBufferedEvents && w.buffer.length > 1) {
      const dropped = w.buffer.shift()!.batch.events.length;
      w.buffered -= dropped;
      this.counts.droppedBufferedEvents += dropped;
    }
  }
}
