/**
 * BlockManager: which KV block ids each sequence uses (vLLM v1's KVCacheManager). Pure
 * bookkeeping; the engine owns the K/V arrays, indexed by the block ids handed out here.
 *
 * Lifecycle of a sequence, as the engine drives it:
 *   openSequence(id, prompt)        → {cachedTokens}: the longest cached prefix of full blocks is
 *                                     referenced and already counts as committed
 *   allocateSlots(id, n)            → the block table covers n token slots (false: pool too full)
 *   … engine writes K/V for tokens into those slots …
 *   commitTokens(id, tokens)        → full blocks get their chained hash and become reusable
 *   freeSequence(id)                → refs dropped; hashed blocks stay cached until evicted
 *
 * Per-sequence state (S = blockSize; here S = 4, 10 tokens committed, 12 slots allocated):
 *
 *   token index   0 1 2 3 │ 4 5 6 7 │ 8 9 · ·
 *   blocks        [  b0   │   b1    │  b2   ]      blocks.length = ceil(slots / S)
 *   hashes        [  h0   │   h1    ]              hashes.length = floor(numCommitted / S)
 *   pending                           [8 9]        numCommitted mod S tokens of block b2
 *
 * `hashes` is the sequence's own chain (h1 = hashBlock(h0, tokens 4..7, salt)), kept even when
 * a block could not register its hash because another block already held it; the next block
 * still chains to it.
 *
 * Complexity: openSequence O(prompt blocks) hashes + O(1) per hit; allocateSlots O(new blocks);
 * commitTokens O(tokens); freeSequence O(table length); snapshot O(cached blocks).
 */
import { assertTokenIds, hashBlock, type BlockHash } from './block-hash.ts';
import { BlockPool, type PoolState } from './block-pool.ts';
import {
  resolveBlockManagerOptions,
  type BlockManagerOptions,
  type BlockManagerStats,
  type KvSnapshot,
  type OpenSequenceOptions,
} from './block-manager-options.ts';
import { KvCacheError } from './errors.ts';
import { KvEventEmitter, type KvEventListener } from './kv-events.ts';

interface SequenceState {
  readonly salt: string;
  readonly blocks: number[];
  readonly hashes: BlockHash[];
  /** Committed tokens of the partial block at index hashes.length (prefix caching only). */
  pending: number[];
  numCommitted: number;
}

export class BlockManager {
  readonly numBlocks: number;
  readonly blockSize: number;
  readonly hashSalt: string;
  readonly enablePrefixCaching: boolean;
  private readonly pool: BlockPool;
  private readonly events: KvEventEmitter;
  private readonly seqs = new Map<string, SequenceState>();
  private prefixQueries = 0;
  private prefixHits = 0;

  constructor(options: BlockManagerOptions) {
    const resolved = resolveBlockManagerOptions(options);
    this.numBlocks = resolved.numBlocks;
    this.blockSize = resolved.blockSize;
    this.hashSalt = resolved.hashSalt;
    this.enablePrefixCaching = resolved.enablePrefixCaching;
    this.pool = new BlockPool(this.numBlocks);
    this.events = new KvEventEmitter(resolved.onListenerError);
  }

  /** Subscribe to KV events (kv-events.ts); returns the unsubscribe function. */
  onEvent(listener: KvEventListener): () => void {
    return this.events.onEvent(listener);
  }

  /**
   * Opens a sequence, referencing the longest cached prefix of its prompt's full blocks:
   *
   *   prompt (S = 4, 10 tokens)   0 1 2 3 │ 4 5 6 7 │ 8 9
   *   default cap                 floor((10 - 1) / 4) = 2 blocks  → ≤ 8 cached, 8..9 computed
   *   prompt of 8 tokens          floor((8 - 1) / 4)  = 1 block   → ≤ 4 cached, 4..7 computed
   *   allowFullPrefix             floor(len / 4) blocks           → all 8 may be cached
   *
   * Counts the prompt's tokens as a prefix query and the cached ones as hits (stats()).
   */
  openSequence(
    seqId: string,
    promptTokenIds: readonly number[],
    opts: OpenSequenceOptions = {},
  ): { cachedTokens: number } {
    if (this.seqs.has(seqId)) {
      throw new KvCacheError('duplicate-sequence', `sequence ${seqId} is already open`);
    }
    assertTokenIds(promptTokenIds);
    const salt = opts.salt ?? this.hashSalt;
    const state: SequenceState = { salt, blocks: [], hashes: [], pending: [], numCommitted: 0 };
    if (this.enablePrefixCaching) this.takeCachedPrefix(state, promptTokenIds, opts.allowFullPrefix === true);
    this.seqs.set(seqId, state);
    return { cachedTokens: state.numCommitted };
  }

  private takeCachedPrefix(state: SequenceState, prompt: readonly number[], allowFull: boolean): void {
    const S = this.blockSize;
    const maxBlocks = Math.floor(Math.max(0, prompt.length - (allowFull ? 0 : 1)) / S);
    let parent: BlockHash | null = null;
    for (let b = 0; b < maxBlocks; b++) {
      const hash = hashBlock(parent, prompt.slice(b * S, (b + 1) * S), state.salt);
      const id = this.pool.lookup(hash);
      if (id === undefined) break;
      this.pool.ref(id);
      state.blocks.push(id);
      state.hashes.push(hash);
      parent = hash;
    }
    state.numCommitted = state.blocks.length * S;
    this.prefixQueries += prompt.length;
    this.prefixHits += state.numCommitted;
  }

  /**
   * Grows the block table to ceil(numTotalTokens / S) blocks, taking them from the head of the
   * free queue (evicting cached blocks there: one 'removed' event for the call). All or nothing:
   * returns false, changing nothing, when too few blocks are free. Never shrinks the table.
   */
  allocateSlots(seqId: string, numTotalTokens: number): boolean {
    const state = this.sequence(seqId);
    if (!Number.isInteger(numTotalTokens) || numTotalTokens < 0) {
      throw new RangeError(`numTotalTokens must be a non-negative integer, got ${numTotalTokens}`);
    }
    const needed = Math.ceil(numTotalTokens / this.blockSize) - state.blocks.length;
    if (needed <= 0) return true;
    const taken = this.pool.take(needed);
    if (taken === null) return false;
    state.blocks.push(...taken.ids);
    this.events.emitRemoved(taken.evicted);
    return true;
  }

  /**
   * Records tokens whose K/V the engine has written, in order (prompt, then generated). Each
   * block that becomes full gets its chained hash and, unless another block already holds that
   * hash, is cached; each run of consecutive newly cached blocks is one 'stored' event.
   * Throws 'uncovered-commit' (changing nothing) past the allocated slots.
   */
  commitTokens(seqId: string, tokenIds: readonly number[]): void {
    const state = this.sequence(seqId);
    assertTokenIds(tokenIds);
    const slots = state.blocks.length * this.blockSize;
    if (state.numCommitted + tokenIds.length > slots) {
      throw new KvCacheError(
        'uncovered-commit',
        `sequence ${seqId}: committing ${tokenIds.length} tokens after ${state.numCommitted} exceeds ${slots} allocated slots`,
      );
    }
    state.numCommitted += tokenIds.length;
    if (!this.enablePrefixCaching) return;

    let run: BlockHash[] = [];
    let runParent: BlockHash | null = null;
    for (const token of tokenIds) {
      state.pending.push(token);
      if (state.pending.length < this.blockSize) continue;
      const index = state.hashes.length;
      const parent = index === 0 ? null : state.hashes[index - 1];
      const hash = hashBlock(parent, state.pending, state.salt);
      state.hashes.push(hash);
      state.pending = [];
      if (this.pool.register(state.blocks[index], hash)) {
        if (run.length === 0) runParent = parent;
        run.push(hash);
      } else {
        // A duplicate breaks the chain of this event; the next run's parent is this hash.
        this.events.emitStored(runParent, run, this.blockSize);
        run = [];
      }
    }
    this.events.emitStored(runParent, run, this.blockSize);
  }

  /**
   * Drops the sequence's refs. Blocks that reach refCount 0 are released in reverse table
   * order, so among its cached blocks the tail is evicted before the head (a later request is
   * likelier to share the head). Unhashed blocks go to the head of the free queue (block-pool.ts).
   * Returns false for an id that is not open.
   */
  freeSequence(seqId: string): boolean {
    const state = this.seqs.get(seqId);
    if (state === undefined) return false;
    this.pool.release([...state.blocks].reverse());
    this.seqs.delete(seqId);
    return true;
  }

  /** Live view of the table (it grows with allocateSlots); do not keep it past freeSequence. */
  blockTable(seqId: string): readonly number[] {
    return this.sequence(seqId).blocks;
  }

  numCommittedTokens(seqId: string): number {
    return this.sequence(seqId).numCommitted;
  }

  hasSequence(seqId: string): boolean {
    return this.seqs.has(seqId);
  }

  /** How many leading hashes are cached now. Takes no refs: the answer can go stale. */
  cachedPrefixBlocks(hashes: readonly BlockHash[]): number {
    if (!this.enablePrefixCaching) return 0;
    let n = 0;
    while (n < hashes.length && this.pool.lookup(hashes[n]) !== undefined) n++;
    return n;
  }

  snapshot(): KvSnapshot {
    return { seq: this.events.lastSeq, blockSize: this.blockSize, hashes: this.pool.cachedHashes() };
  }

  /**
   * Forgets every cached hash and emits 'cleared'; the pool is then as if fresh (free order
   * 0, 1, 2, …). Refused (false, nothing emitted) while any sequence is open, as in vLLM.
   */
  resetPrefixCache(): boolean {
    if (this.seqs.size > 0) return false;
    this.pool.clearAllHashes();
    this.events.emitCleared();
    return true;
  }

  numFreeBlocks(): number {
    return this.pool.numFree();
  }

  stats(): BlockManagerStats {
    return {
      numBlocks: this.numBlocks,
      blockSize: this.blockSize,
      usedBlocks: this.pool.numUsed(),
      freeBlocks: this.pool.numFree(),
      cachedBlocks: this.pool.numCached(),
      prefixQueries: this.prefixQueries,
      prefixHits: this.prefixHits,
    };
  }

  /** Copy of the pool's internals for tests and debug endpoints. O(numBlocks). */
  inspect(): PoolState {
    return this.pool.inspect();
  }

  private sequence(seqId: string): SequenceState {
    const state = this.seqs.get(seqId);
    if (state === undefined) throw new KvCacheError('unknown-sequence', `sequence ${seqId} is not open`);
    return state;
  }
}
