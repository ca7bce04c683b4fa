/**
 * The block pool: per-block refcount and hash, the free queue, and the hash → block map
 * (vLLM's BlockPool). It knows nothing of sequences or events; BlockManager drives it.
 *
 * Invariants (checked by test/kv/block-manager.random.test.ts after every operation):
 *   I1  refCount[id] === 0  ⇔  id is in the free queue.
 *   I2  hash[id] !== null   ⇔  cached.get(hash[id]) === id   (one block per hash, one hash per block).
 *   I3  Free queue order:  head ─▶ [ unhashed blocks … ][ hashed blocks, LRU first … ] ◀─ tail
 *       so taking from the head evicts a cached block only when no unhashed free block is left.
 *       Holds because unhashed blocks enter at the head, hashed ones at the tail, and a block in
 *       the queue gains no hash (only blocks with refCount > 0 are registered).
 *
 * Placement of released blocks (this is where Duet departs from vLLM, which appends all to the
 * tail): an unhashed block is worth nothing once free, so it goes to the HEAD and is reused
 * before any cached block is evicted; a hashed block goes to the TAIL, so cached blocks are
 * evicted least recently freed first.
 */
import type { BlockHash } from './block-hash.ts';
import { FreeBlockQueue } from './free-block-queue.ts';

export interface TakenBlocks {
  /** Block ids in the order taken from the head; each now has refCount 1 and no hash. */
  readonly ids: number[];
  /** Hashes of cached blocks that were evicted to satisfy the request, in eviction order. */
  readonly evicted: BlockHash[];
}

/** One block as seen by inspect(). */
export interface BlockInfo {
  readonly id: number;
  readonly refCount: number;
  readonly hash: BlockHash | null;
}

/** A copy of the pool's state for tests and debug endpoints. */
export interface PoolState {
  readonly blocks: BlockInfo[];
  /** Block ids head → tail. */
  readonly freeQueue: number[];
  /** [hash, block id] entries of the hash map. */
  readonly cached: [BlockHash, number][];
}

export class BlockPool {
  private readonly refCounts: Uint32Array;
  private readonly hashes: (BlockHash | null)[];
  private readonly cached = new Map<BlockHash, number>();
  private readonly freeQueue: FreeBlockQueue;

  constructor(readonly numBlocks: number) {
    this.refCounts = new Uint32Array(numBlocks);
    this.hashes = new Array<BlockHash | null>(numBlocks).fill(null);
    this.freeQueue = new FreeBlockQueue(numBlocks);
  }

  /** Blocks with refCount 0, cached ones included. */
  numFree(): number {
    return this.freeQueue.length;
  }

  numUsed(): number {
    return this.numBlocks - this.freeQueue.length;
  }

  numCached(): number {
    return this.cached.size;
  }

  /** The block holding `hash`, whether referenced or only cached. */
  lookup(hash: BlockHash): number | undefined {
    return this.cached.get(hash);
  }

  cachedHashes(): BlockHash[] {
    return [...this.cached.keys()];
  }

  /**
   * Takes `n` blocks from the head of the free queue, evicting the hash of any cached block
   * taken. All or nothing: returns null (and changes nothing) when fewer than n are free.
   */
  take(n: number): TakenBlocks | null {
    if (n > this.freeQueue.length) return null;
    const ids: number[] = [];
    const evicted: BlockHash[] = [];
    for (let i = 0; i < n; i++) {
      const id = this.freeQueue.popFront();
      const hash = this.hashes[id];
      if (hash !== null) {
        this.cached.delete(hash);
        this.hashes[id] = null;
        evicted.push(hash);
      }
      this.refCounts[id] = 1;
      ids.push(id);
    }
    return { ids, evicted };
  }

  /** refCount++ on a block found by lookup(); a free (cached) block leaves the free queue. */
  ref(id: number): void {
    if (this.refCounts[id] === 0) this.freeQueue.remove(id);
    this.refCounts[id]++;
  }

  /**
   * refCount-- on each block. `ids` is in eviction order: of the blocks that reach 0, hashed
   * ones are appended to the tail in that order (first given is evicted first) and unhashed
   * ones are put at the head in that order (first given is reused first).
   */
  release(ids: readonly number[]): void {
    const unhashed: number[] = [];
    for (const id of ids) {
      if (this.refCounts[id] === 0) throw new Error(`block ${id} released with refCount 0`);
      if (--this.refCounts[id] > 0) continue;
      if (this.hashes[id] !== null) this.freeQueue.pushBack(id);
      else unhashed.push(id);
    }
    for (let i = unhashed.length - 1; i >= 0; i--) this.freeQueue.pushFront(unhashed[i]);
  }

  /**
   * Gives a referenced, unhashed block its hash. Returns false (and leaves the block unhashed)
   * when another block already holds the hash: duplicates are not merged, as in vLLM.
   */
  register(id: number, hash: BlockHash): boolean {
    if (this.refCounts[id] === 0) throw new Error(`block ${id} registered while free`);
    if (this.hashes[id] !== null) throw new Error(`block ${id} already holds hash ${this.hashes[id]}`);
    if (this.cached.has(hash)) return false;
    this.hashes[id] = hash;
    this.cached.set(hash, id);
    return true;
  }

  /** Drops every hash and restores the fresh free order (0, 1, 2, …). Only when nothing is used. */
  clearAllHashes(): void {
    if (this.numUsed() !== 0) throw new Error('cannot clear hashes while blocks are in use');
    this.cached.clear();
    this.hashes.fill(null);
    this.freeQueue.resetToAll();
  }

  /** Every block, the free queue head → tail, and the hash map's entries. O(numBlocks). */
  inspect(): PoolState {
    const blocks = Array.from({ length: this.numBlocks }, (_, id) => ({
      id,
      refCount: this.refCounts[id],
      hash: this.hashes[id],
    }));
    return { blocks, freeQueue: this.freeQueue.toArray(), cached: [...this.cached.entries()] };
  }
}
