/**
 * The free block queue: an intrusive doubly linked list over block ids with O(1) push at either
 * end, pop at the head and removal from the middle (vLLM's FreeKVCacheBlockQueue).
 *
 * Links live in two Int32Arrays indexed by block id, plus one sentinel node (id = numBlocks) that
 * closes the list into a ring, so no operation special-cases an empty list or an end:
 *
 *        next ─▶            next ─▶            next ─▶            next ─▶
 *   ┌──────────┐      ┌──────────┐      ┌──────────┐      ┌──────────┐
 *   │ sentinel │ ───▶ │  head a  │ ───▶ │    b     │ ───▶ │  tail c  │ ──┐
 *   └──────────┘ ◀─── └──────────┘ ◀─── └──────────┘ ◀─── └──────────┘   │
 *        ▲                                                               │
 *        └───────────────────────────────────────────────────────────────┘
 *   next[sentinel] = head, prev[sentinel] = tail; empty list: both are the sentinel.
 *
 * Invariant: a block is in the queue iff prev[id] !== NOT_QUEUED (next[id] likewise).
 * The queue knows nothing of refcounts or hashes; BlockPool decides who goes where.
 */

const NOT_QUEUED = -1;

export class FreeBlockQueue {
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly sentinel: number;
  private count = 0;

  /** Starts holding every block, ids ascending from the head. */
  constructor(readonly numBlocks: number) {
    this.sentinel = numBlocks;
    this.next = new Int32Array(numBlocks + 1);
    this.prev = new Int32Array(numBlocks + 1);
    this.resetToAll();
  }

  get length(): number {
    return this.count;
  }

  has(id: number): boolean {
    return this.prev[id] !== NOT_QUEUED;
  }

  /** Refill with every block, ids ascending from the head (the state of a fresh pool). */
  resetToAll(): void {
    const n = this.numBlocks;
    for (let id = 0; id <= n; id++) {
      this.next[id] = id === n ? 0 : id + 1;
      this.prev[id] = id === 0 ? n : id - 1;
    }
    this.count = n;
  }

  /** Removes and returns the head; throws when empty (callers check length first). */
  popFront(): number {
    const id = this.next[this.sentinel];
    if (id === this.sentinel) throw new Error('free block queue is empty');
    this.remove(id);
    return id;
  }

  pushFront(id: number): void {
    this.insertAfter(this.sentinel, id);
  }

  pushBack(id: number): void {
    this.insertAfter(this.prev[this.sentinel], id);
  }

  remove(id: number): void {
    this.assertId(id);
    if (!this.has(id)) throw new Error(`block ${id} is not in the free queue`);
    const p = this.prev[id];
    const n = this.next[id];
    this.next[p] = n;
    this.prev[n] = p;
    this.prev[id] = NOT_QUEUED;
    this.next[id] = NOT_QUEUED;
    this.count--;
  }

  /** Block ids from head to tail. O(length); for snapshots, tests and debugging. */
  toArray(): number[] {
    const ids: number[] = [];
    for (let id = this.next[this.sentinel]; id !== this.sentinel; id = this.next[id]) ids.push(id);
    return ids;
  }

  private insertAfter(anchor: number, id: number): void {
    this.assertId(id);
    if (this.has(id)) throw new Error(`block ${id} is already in the free queue`);
    const after = this.next[anchor];
    this.prev[id] = anchor;
    this.next[id] = after;
    this.next[anchor] = id;
    this.prev[after] = id;
    this.count++;
  }

  private assertId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.numBlocks) {
      throw new RangeError(`block id must be an integer in [0, ${this.numBlocks}), got ${id}`);
    }
  }
}
