/**
 * Options, stats and snapshot shapes of BlockManager; defaults live here and nowhere else, and
 * options are validated once, in the constructor, with errors that name the option.
 */
import { DEFAULT_HASH_SALT, type BlockHash } from './block-hash.ts';
import type { KvListenerErrorHandler } from './kv-events.ts';

export const DEFAULT_BLOCK_SIZE = 16;

export interface BlockManagerOptions {
  /** Blocks in the engine's preallocated cache; ids are 0..numBlocks-1. */
  numBlocks: number;
  /** Tokens per block (S). Default 16. */
  blockSize?: number;
  /** Salt of sequences opened without one (see block-hash.ts). Default DEFAULT_HASH_SALT. */
  hashSalt?: string;
  /** Default true. When false nothing is hashed, cached, or reported by events. */
  enablePrefixCaching?: boolean;
  /** Called when a KV event listener throws. Default: console.error. */
  onListenerError?: KvListenerErrorHandler;
}

export interface OpenSequenceOptions {
  /** Tenant salt for this sequence's hashes. Default: the manager's hashSalt. */
  salt?: string;
  /**
   * Let every full prompt block come from cache. Off by default because the engine must run at
   * least one prompt token to get the logits of the next one; a decode worker importing KV from
   * a prefill worker gets those logits from the sender, so it sets this.
   */
  allowFullPrefix?: boolean;
}

export interface BlockManagerStats {
  numBlocks: number;
  blockSize: number;
  /** Blocks with refCount > 0. */
  usedBlocks: number;
  /** Blocks with refCount 0, cached ones included (usedBlocks + freeBlocks = numBlocks). */
  freeBlocks: number;
  /** Blocks holding a hash, referenced or not. */
  cachedBlocks: number;
  /** Prompt tokens looked up by openSequence (only while prefix caching is on). */
  prefixQueries: number;
  /** Of those, tokens served from cache. */
  prefixHits: number;
}

export interface KvSnapshot {
  /** seq of the last event emitted before this snapshot (0: none); events resume at seq + 1. */
  seq: number;
  blockSize: number;
  /** Every cached hash, referenced or evictable, in no particular order. */
  hashes: BlockHash[];
}

/** Options with defaults applied (onListenerError stays optional: the emitter has its own). */
export type ResolvedBlockManagerOptions = Required<Omit<BlockManagerOptions, 'onListenerError'>> &
  Pick<BlockManagerOptions, 'onListenerError'>;

export function resolveBlockManagerOptions(options: BlockManagerOptions): ResolvedBlockManagerOptions {
  const hashSalt = options.hashSalt ?? DEFAULT_HASH_SALT;
  if (typeof hashSalt !== 'string') throw new TypeError('BlockManager option hashSalt must be a string');
  const enablePrefixCaching = options.enablePrefixCaching ?? true;
  if (typeof enablePrefixCaching !== 'boolean') {
    throw new TypeError('BlockManager option enablePrefixCaching must be a boolean');
  }
  if (options.onListenerError !== undefined && typeof options.onListenerError !== 'function') {
    throw new TypeError('BlockManager option onListenerError must be a function');
  }
  return {
    numBlocks: positiveInteger('numBlocks', options.numBlocks),
    blockSize: positiveInteger('blockSize', options.blockSize ?? DEFAULT_BLOCK_SIZE),
    hashSalt,
    enablePrefixCaching,
    onListenerError: options.onListenerError,
  };
}

function positiveInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new RangeError(`BlockManager option ${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}
