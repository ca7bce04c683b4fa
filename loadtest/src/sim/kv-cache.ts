/**
 * A simulated worker's paged KV cache with an LRU prefix cache, emitting the same KV events a real
 * worker pushes (proto/duet/v1/kv_events.proto: BlockStored / BlockRemoved, per-worker seq 1, 2, …).
 *
 * Only block counts and identities are kept — no K/V. Every block is in exactly one state:
 *
 *   free        no content                                  counted, not listed
 *   private     held by a sequence, no hash (a partial block, generated tokens, a duplicate)
 *   hashed      held by ≥ 1 sequence, registered by its chained hash (reusable)
 *   idle        hashed, held by none: cached, evictable, in LRU order (oldest first)
 *
 *   numBlocks = free + private + hashed + idle
 *
 * Allocation takes free blocks first, then evicts idle blocks oldest first (each eviction is a
 * BlockRemoved event). A full prompt block registers its hash when computed (BlockStored); if the
 * hash is already registered (another sequence computed the same prefix meanwhile) the block stays
 * private, as in the engine's BlockManager. Generated tokens' blocks stay private: their tokens
 * are simulated, so no later prompt could match them.
 *
 * Costs: match O(leading hits), acquire/register/release O(1) per block, allocate O(evictions).
 */
import type { BlockHash } from './requests.ts';

export interface CachedBlock {
  readonly hash: BlockHash;
  refs: number;
  /** LRU links, set only while idle. */
  prev: CachedBlock | null;
  next: CachedBlock | null;
}

/** Events of one step, in order: what was evicted (at allocation), then what was stored. */
export interface KvEventOps {
  removed: BlockHash[];
  stored: BlockHash[];
}

export class SimKvCache {
  private readonly byHash = new Map<BlockHash, CachedBlock>();
  private lruHead: CachedBlock | null = null;
  private lruTail: CachedBlock | null = null;
  private idle = 0;
  private privateBlocks = 0;
  private hashedHeld = 0;
  private pending: KvEventOps = { removed: [], stored: [] };
  /** Blocks evicted since creation (for stats). */
  evictions = 0;

  constructor(readonly numBlocks: number) {
    if (!Number.isInteger(numBlocks) || numBlocks < 1) throw new RangeError(`numBlocks must be a positive integer, got ${numBlocks}`);
  }

  /** Blocks referenced by sequences (the worker's `kv_blocks_used`). */
  get usedBlocks(): number {
    return this.privateBlocks + this.hashedHeld;
  }

  /** Blocks a new allocation may take: free plus evictable (`kv_blocks_free`). */
  get availableBlocks(): number {
    return this.numBlocks - this.usedBlocks;
  }

  get cachedBlocks(): number {
    return this.byHash.size;
  }

  /** Leading blocks of `hashes` (at most `max`) registered here, held or idle. */
  match(hashes: readonly BlockHash[], max = hashes.length): number {
    const n = Math.min(max, hashes.length);
    let i = 0;
    while (i < n && this.byHash.has(hashes[i])) i++;
    return i;
  }

  /** References the first `n` blocks of `hashes` (all registered: call match first). */
  acquire(hashes: readonly BlockHash[], n: number): CachedBlock[] {
    const out: CachedBlock[] = [];
    for (let i = 0; i < n; i++) {
      const b = this.byHash.get(hashes[i])!;
      if (b.refs === 0) {
        this.unlinkIdle(b);
        this.hashedHeld++;
      }
      b.refs++;
      out.push(b);
    }
    return out;
  }

  /** Takes `n` private blocks, evicting idle ones oldest first; false (nothing taken) when they do not fit. */
  allocate(n: number): boolean {
    if (n <= 0) return true;
    if (n > this.availableBlocks) return false;
    let free = this.numBlocks - this.usedBlocks - this.idle;
    while (free < n) {
      const victim = this.lruHead!;
      this.unlinkIdle(victim);
      this.byHash.delete(victim.hash);
      this.pending.removed.push(victim.hash);
      this.evictions++;
      free++;
    }
    this.privateBlocks += n;
    return true;
  }

  /** A computed full block of a sequence (one of its private blocks) gets its hash; null if the hash exists. */
  register(hash: BlockHash): CachedBlock | null {
    if (this.byHash.has(hash)) return null;
    const b: CachedBlock = { hash, refs: 1, prev: null, next: null };
    this.byHash.set(hash, b);
    this.privateBlocks--;
    this.hashedHeld++;
    this.pending.stored.push(hash);
    return b;
  }

  /** Drops a sequence's references: hashed blocks it was the last to hold become idle (newest in LRU). */
  release(blocks: readonly CachedBlock[], privateCount: number): void {
    for (const b of blocks) {
      if (--b.refs > 0) continue;
      this.hashedHeld--;
      this.linkIdle(b);
    }
    this.privateBlocks -= privateCount;
    if (this.privateBlocks < 0) throw new Error(`kv cache: released more private blocks than held (${this.privateBlocks})`);
  }

  /** Evictions and stores since the last call. */
  takeEvents(): KvEventOps {
    const p = this.pending;
    if (p.removed.length === 0 && p.stored.length === 0) return p;
    this.pending = { removed: [], stored: [] };
    return p;
  }

  private linkIdle(b: CachedBlock): void {
    b.prev = this.lruTail;
    b.next = null;
    if (this.lruTail) this.lruTail.next = b;
    else this.lruHead = b;
    this.lruTail = b;
    this.idle++;
  }

  private unlinkIdle(b: CachedBlock): void {
    if (b.prev) b.prev.next = b.next;
    else this.lruHead = b.next;
    if (b.next) b.next.prev = b.prev;
    else this.lruTail = b.prev;
    b.prev = b.next = null;
    this.idle--;
  }
}
