/** Public entry of the paged-KV block manager (bookkeeping only; the engine owns the tensors). */
export {
  assertTokenIds,
  DEFAULT_HASH_SALT,
  hashBlock,
  hashPromptBlocks,
  isBlockHash,
  type BlockHash,
} from './block-hash.ts';
export { BlockManager } from './block-manager.ts';
export {
  DEFAULT_BLOCK_SIZE,
  type BlockManagerOptions,
  type BlockManagerStats,
  type KvSnapshot,
  type OpenSequenceOptions,
} from './block-manager-options.ts';
export type { BlockInfo, PoolState } from './block-pool.ts';
export { KvCacheError, type KvCacheErrorCode } from './errors.ts';
export type {
  KvClearedEvent,
  KvEvent,
  KvEventListener,
  KvListenerErrorHandler,
  KvRemovedEvent,
  KvStoredEvent,
} from './kv-events.ts';
