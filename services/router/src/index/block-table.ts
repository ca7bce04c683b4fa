/**
 * BlockTable: chained block hash → the set of worker slots holding it, in one flat Uint32Array.
 * The storage behind PrefixIndex (see prefix-index.ts for the contract, costs and memory).
 *
 * A block hash is 16 hex chars = 64 bits, kept as two uint32 words (no string is stored). Open
 * addressing with linear probing; each row is `2 + W` words, W = ⌈slots / 32⌉ bitset words:
 *
 *   row r ─▶ data[r·S … r·S+S)   S = 2 + W
 *            ┌────────┬────────┬──────────┬─────┬────────────┐
 *            │ key hi │ key lo │ bits 0–31│ …   │ bits 32W-… │   bit s of word w = slot 32w + s
 *            └────────┴────────┴──────────┴─────┴────────────┘
 *
 * Invariant: a row is occupied iff some holder bit is set. A row whose last holder leaves is
 * deleted at once by backward shift (no tombstones), so every probe chain stays gap-free and a
 * lookup stops at the first all-zero row. The home row of a key mixes both words with a random
 * per-table seed, so prompts ground to collide in the low bits cannot build long probe chains.
 * With W = 2 (up to 64 workers) a row is 16 bytes: a lookup touches one cache line.
 */

/** Max load factor before the row array doubles. */
const MAX_LOAD = 0.75;
const INITIAL_ROWS = 1024;
/** Prompt hashes looked up together in match(). */
const CHUNK = 32;
/** Slot ids are < MAX_SLOTS. */
export const MAX_SLOTS = 1 << 16;

const HEX = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) HEX[48 + c] = c;
for (let c = 0; c < 6; c++) HEX[97 + c] = HEX[65 + c] = 10 + c;

/** Two ASCII chars (7 bits each) → the byte they spell in hex, or -1. */
const HEX2 = new Int16Array(1 << 14).fill(-1);
for (let a = 0; a < 128; a++) for (let b = 0; b < 128; b++) if (HEX[a] >= 0 && HEX[b] >= 0) HEX2[(a << 7) | b] = (HEX[a] << 4) | HEX[b];

function hex8(word: number): string {
  return (word >>> 0).toString(16).padStart(8, '0');
}

export class BlockTable {
  private data: Uint32Array;
  private rows: number;
  private mask: number;
  /** Bitset words per row (W) and row stride (S = 2 + W). */
  private words: number;
  private stride: number;
  private readonly seed = (Math.random() * 0x1_0000_0000) >>> 0;
  /** Blocks held per slot. */
  private slotCounts: Int32Array;
  /** Scratch for match: the slots still matching, one bitset. */
  private active: Uint32Array;
  /** match() scratch: one chunk of lookups. */
  private readonly chunkHomes = new Int32Array(CHUNK);
  private readonly chunkHi = new Uint32Array(CHUNK);
  private readonly chunkLo = new Uint32Array(CHUNK);
  private readonly chunkRows = new Int32Array(CHUNK);
  /** Keeps the touch loads of findChunk from being optimised away. */
  sink = 0;
  /** The key parsed by the last successful `parse`. */
  private hi = 0;
  private lo = 0;
  /** Occupied rows = distinct hashes. */
  size = 0;
  /** (slot, hash) pairs. */
  entries = 0;

  constructor(slots = 64) {
    this.rows = INITIAL_ROWS;
    this.mask = INITIAL_ROWS - 1;
    this.words = Math.max(1, Math.ceil(slots / 32));
    this.stride = 2 + this.words;
    this.data = new Uint32Array(this.rows * this.stride);
    this.slotCounts = new Int32Array(this.words * 32);
    this.active = new Uint32Array(this.words);
  }

  /** Slots this table can hold without widening. */
  get slotCapacity(): number {
    return this.words * 32;
  }

  /** Bytes of the row array and per-slot counters. */
  get bytes(): number {
    return this.data.byteLength + this.slotCounts.byteLength;
  }

  blocksOf(slot: number): number {
    return slot < this.slotCounts.length ? this.slotCounts[slot] : 0;
  }

  /** Makes room for slot ids < `slots` (rewrites every row: O(rows)). */
  ensureSlots(slots: number): void {
    if (slots > MAX_SLOTS) throw new RangeError(`BlockTable holds at most ${MAX_SLOTS} worker slots, asked for ${slots}`);
    if (slots <= this.slotCapacity) return;
    const words = Math.max(Math.ceil(slots / 32), this.words * 2);
    const stride = 2 + words;
    const old = this.data, oldStride = this.stride;
    const data = new Uint32Array(this.rows * stride);
    for (let r = 0; r < this.rows; r++) data.set(old.subarray(r * oldStride, r * oldStride + oldStride), r * stride);
    const counts = new Int32Array(words * 32);
    counts.set(this.slotCounts);
    this.data = data;
    this.words = words;
    this.stride = stride;
    this.slotCounts = counts;
    this.active = new Uint32Array(words);
  }

  /** Parses 16 hex chars into (hi, lo), two chars per table lookup; false for anything else. */
  private parse(hash: string): boolean {
    if (hash.length !== 16) return false;
    let hi = 0, lo = 0, bad = 0, wide = 0;
    for (let k = 0; k < 16; k += 2) {
      const c1 = hash.charCodeAt(k), c2 = hash.charCodeAt(k + 1);
      const v = HEX2[((c1 & 0x7f) << 7) | (c2 & 0x7f)];
      wide |= c1 | c2;
      bad |= v;
      if (k < 8) hi = (hi << 8) | v;
      else lo = (lo << 8) | v;
    }
    if (bad < 0 || wide > 0x7f) return false;
    this.hi = hi >>> 0;
    this.lo = lo >>> 0;
    return true;
  }

  private home(hi: number, lo: number): number {
    let h = Math.imul(lo ^ this.seed, 0x85ebca6b) ^ Math.imul(hi, 0xc2b2ae35);
    h ^= h >>> 15;
    h = Math.imul(h, 0x27d4eb2d);
    return (h ^ (h >>> 13)) & this.mask;
  }

  private empty(row: number): boolean {
    const d = this.data;
    for (let i = row * this.stride + 2, end = i + this.words; i < end; i++) if (d[i] !== 0) return false;
    return true;
  }

  /** Row of the parsed key, or the empty row where it would go, as `-(row + 1)`. */
  private probe(): number {
    const d = this.data, S = this.stride, hi = this.hi, lo = this.lo;
    for (let r = this.home(hi, lo); ; r = (r + 1) & this.mask) {
      if (this.empty(r)) return -(r + 1);
      const o = r * S;
      if (d[o] === hi && d[o + 1] === lo) return r;
    }
  }

  /** Row holding `hash`, or -1 (absent or malformed). */
  find(hash: string): number {
    if (!this.parse(hash)) return -1;
    const r = this.probe();
    return r >= 0 ? r : -1;
  }

  has(hash: string, slot: number): boolean {
    const r = this.find(hash);
    return r >= 0 && slot < this.slotCapacity && (this.data[r * this.stride + 2 + (slot >>> 5)] & (1 << (slot & 31))) !== 0;
  }

  /** 1: added; 0: the slot already held it; -1: malformed hash. Amortised O(1). */
  add(hash: string, slot: number): 1 | 0 | -1 {
    if (slot >= this.slotCapacity) throw new RangeError(`slot ${slot} ≥ capacity ${this.slotCapacity}: call ensureSlots first`);
    if (!this.parse(hash)) return -1;
    let r = this.probe();
    if (r < 0) {
      if ((this.size + 1) > this.rows * MAX_LOAD) {
        this.grow();
        r = this.probe();
      }
      r = -r - 1;
      this.data[r * this.stride] = this.hi;
      this.data[r * this.stride + 1] = this.lo;
      this.size++;
    }
    const i = r * this.stride + 2 + (slot >>> 5), bit = 1 << (slot & 31);
    if ((this.data[i] & bit) !== 0) return 0;
    this.data[i] |= bit;
    this.slotCounts[slot]++;
    this.entries++;
    return 1;
  }

  /** True when the slot held `hash` (and no longer does). O(1) expected. */
  remove(hash: string, slot: number): boolean {
    const r = this.find(hash);
    if (r < 0 || slot >= this.slotCapacity) return false;
    return this.clearBit(r, slot);
  }

  private clearBit(r: number, slot: number): boolean {
    const i = r * this.stride + 2 + (slot >>> 5), bit = 1 << (slot & 31);
    if ((this.data[i] & bit) === 0) return false;
    this.data[i] &= ~bit;
    this.slotCounts[slot]--;
    this.entries--;
    if (this.empty(r)) this.deleteRow(r);
    return true;
  }

  /**
   * Removes `slot` from every row: O(rows) scan, stopping once the slot's count reaches 0.
   * A deletion may backward-shift a not-yet-scanned row into row r, so r is examined again.
   */
  clearSlot(slot: number): number {
    let left = this.blocksOf(slot);
    const removed = left;
    const w = 2 + (slot >>> 5), bit = 1 << (slot & 31);
    for (let r = 0; r < this.rows && left > 0; ) {
      if ((this.data[r * this.stride + w] & bit) !== 0) {
        this.clearBit(r, slot);
        left--;
        continue;
      }
      r++;
    }
    return removed;
  }

  /**
   * Backward-shift deletion: walk the cluster after `r`; a row whose home is not cyclically in
   * (hole, row] can move into the hole, which then moves to that row.
   *
   *   home k of row j:   hole ... k ... j   → j stays (k in (hole, j])
   *                      k ... hole ... j   → j moves into hole
   */
  private deleteRow(r: number): void {
    const d = this.data, S = this.stride;
    let hole = r;
    for (let j = (r + 1) & this.mask; !this.empty(j); j = (j + 1) & this.mask) {
      const k = this.home(d[j * S], d[j * S + 1]);
      const stays = hole <= j ? hole < k && k <= j : hole < k || k <= j;
      if (stays) continue;
      d.copyWithin(hole * S, j * S, j * S + S);
      hole = j;
    }
    d.fill(0, hole * S, hole * S + S);
    this.size--;
  }

  private grow(): void {
    const old = this.data, oldRows = this.rows, S = this.stride;
    this.rows *= 2;
    this.mask = this.rows - 1;
    this.data = new Uint32Array(this.rows * S);
    for (let r = 0; r < oldRows; r++) {
      const o = r * S;
      let occupied = false;
      for (let i = o + 2; i < o + S; i++) if (old[i] !== 0) occupied = true;
      if (!occupied) continue;
      let t = this.home(old[o], old[o + 1]);
      while (!this.empty(t)) t = (t + 1) & this.mask;
      this.data.set(old.subarray(o, o + S), t * S);
    }
  }

  /**
   * Rows of hashes[from … from+n) into chunkRows (-1 = absent or malformed), in two passes so
   * the cache misses overlap: parse every key and touch its home row (independent loads the CPU
   * issues in parallel), then probe, now mostly from cache.
   */
  private findChunk(hashes: readonly string[], from: number, n: number): void {
    const d = this.data, S = this.stride, homes = this.chunkHomes, his = this.chunkHi, los = this.chunkLo;
    let touched = 0;
    for (let j = 0; j < n; j++) {
      if (!this.parse(hashes[from + j])) {
        homes[j] = -1;
        continue;
      }
      his[j] = this.hi;
      los[j] = this.lo;
      const h = this.home(this.hi, this.lo);
      homes[j] = h;
    }
    for (let j = 0; j < n; j++) if (homes[j] >= 0) touched ^= d[homes[j] * S];
    this.sink = touched;
    for (let j = 0; j < n; j++) {
      if (homes[j] < 0) {
        this.chunkRows[j] = -1;
        continue;
      }
      this.hi = his[j];
      this.lo = los[j];
      const r = this.probe();
      this.chunkRows[j] = r >= 0 ? r : -1;
    }
  }

  /**
   * For each slot holding hashes[0]: the number of leading hashes it holds. Writes pairs into
   * outSlots/outCounts (length ≥ slotCapacity) and returns how many. O(L · W), L ≤ hashes.length
   * the deepest match + 1 (rounded up to a chunk of 32 lookups); stops at the first hash no
   * matching slot holds.
   */
  matchLeading(hashes: readonly string[], outSlots: Int32Array, outCounts: Int32Array): number {
    if (hashes.length === 0) return 0;
    const W = this.words, S = this.stride, d = this.data, active = this.active, rows = this.chunkRows;
    let r = this.find(hashes[0]);
    if (r < 0) return 0;
    for (let w = 0; w < W; w++) active[w] = d[r * S + 2 + w];
    let n = 0;
    for (let from = 1; from < hashes.length; from += CHUNK) {
      const len = Math.min(CHUNK, hashes.length - from);
      this.findChunk(hashes, from, len);
      for (let j = 0; j < len; j++) {
        r = rows[j];
        let any = 0;
        for (let w = 0; w < W; w++) {
          const a = active[w] | 0;
          if (a === 0) continue;
          const b = r < 0 ? 0 : d[r * S + 2 + w] | 0;
          for (let dropped = a & ~b; dropped !== 0; dropped &= dropped - 1) {
            outSlots[n] = w * 32 + 31 - Math.clz32(dropped & -dropped);
            outCounts[n++] = from + j;
          }
          active[w] = a & b;
          any |= a & b;
        }
        if (any === 0) return n;
      }
    }
    for (let w = 0; w < W; w++) {
      for (let left = active[w] | 0; left !== 0; left &= left - 1) {
        outSlots[n] = w * 32 + 31 - Math.clz32(left & -left);
        outCounts[n++] = hashes.length;
      }
    }
    return n;
  }

  /**
   * matchLeading for prefix-closed holdings, in O(G · log L) lookups instead of O(L), G being the
   * number of distinct run lengths among the matching slots: a worker's engine evicts a sequence's
   * blocks tail first and a request references a block only with all its ancestors, so a worker
   * that holds block i of a chain holds blocks 0 … i. Under that property the search runs for all
   * slots at once, on bitsets: exponential probes (1, 3, 7, 15, …, L − 1) bracket each slot's run
   * between its last hit and first miss, then a binary search splits the slots known to hold
   * position lo and not known at hi at mid into those whose row holds mid (their run ends in
   * [mid, hi)) and the rest (it ends in [lo, mid)). Each group recurses, so slots with equal runs
   * share every lookup, and each slot sees the probes a search of its own would make. The answer equals matchLeading's whenever each slot's holdings are prefix-closed; a
   * hole in the middle (which the engine does not produce) can make it report a longer run.
   */
  matchLeadingSearch(hashes: readonly string[], outSlots: Int32Array, outCounts: Int32Array): number {
    const L = hashes.length;
    if (L === 0) return 0;
    const r0 = this.find(hashes[0]);
    if (r0 < 0) return 0;
    const W = this.words, S = this.stride, d = this.data;
    const set0 = new Array<number>(W);
    for (let w = 0; w < W; w++) set0[w] = d[r0 * S + 2 + w] | 0;
    let n = 0;
    const emit = (set: number[], count: number): void => {
      for (let w = 0; w < W; w++) {
        for (let a = set[w]; a !== 0; a &= a - 1) {
          outSlots[n] = w * 32 + 31 - Math.clz32(a & -a);
          outCounts[n++] = count;
        }
      }
    };
    /** `set` split by whether position p's row holds each slot: [held, rest, any held, any rest]. */
    const split = (set: number[], p: number): [number[], number[], number, number] => {
      const r = this.find(hashes[p]);
      const held = new Array<number>(W), rest = new Array<number>(W);
      let anyHeld = 0, anyRest = 0;
      for (let w = 0; w < W; w++) {
        const bits = r >= 0 ? d[r * S + 2 + w] | 0 : 0;
        anyHeld |= held[w] = set[w] & bits;
        anyRest |= rest[w] = set[w] & ~bits;
      }
      return [held, rest, anyHeld, anyRest];
    };
    /** Every slot in `set` holds position lo; none is known to hold hi (L: past the end). */
    const search = (lo: number, hi: number, set: number[]): void => {
      if (hi - lo <= 1) return emit(set, lo + 1);
      const mid = (lo + hi) >>> 1;
      const [held, rest, anyHeld, anyRest] = split(set, mid);
      if (anyRest !== 0) search(lo, mid, rest);
      if (anyHeld !== 0) search(mid, hi, held);
    };
    // Exponential probes 1, 3, 7, …, L − 1 first (shallow runs are the common case): the slots
    // that miss a probe end their run before it and are settled by the binary search.
    let set = set0, lo = 0;
    for (let p = 1; p < L; p = Math.min(L - 1, p * 2 + 1)) {
      const [held, rest, anyHeld, anyRest] = split(set, p);
      if (anyRest !== 0) search(lo, p, rest);
      if (anyHeld === 0) return n;
      set = held;
      lo = p;
      if (p === L - 1) break;
    }
    search(lo, L, set);
    return n;
  }

  /** Every hash the slot holds, as hex (O(rows); for tests and debugging). */
  hashesOf(slot: number): string[] {
    const out: string[] = [];
    if (slot >= this.slotCapacity) return out;
    const d = this.data, S = this.stride, w = 2 + (slot >>> 5), bit = 1 << (slot & 31);
    for (let r = 0; r < this.rows; r++) if ((d[r * S + w] & bit) !== 0) out.push(hex8(d[r * S]) + hex8(d[r * S + 1]));
    return out;
  }
}
