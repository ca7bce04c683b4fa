/**
 * Chained block hashes: the identity of a full KV block across the whole cluster.
 *
 * The gateway, the router and every worker compute these hashes independently, so this header is
 * the specification; any implementation that follows it byte for byte interoperates.
 *
 *   BlockHash   16 lowercase hex chars = the first 8 bytes (64 bits) of a SHA-256 digest.
 *
 *   hashBlock(parent, tokens, salt) = hex( SHA-256( bytes )[0..8) ) where bytes is
 *
 *     ┌──────────────────┬──────┬──────────────────────────┬─────────────────────────────────┐
 *     │ salt, UTF-8      │ 0x00 │ parent, 8 raw bytes      │ tokens[0..n), uint32 LE each    │
 *     │ (any length, ''  │      │ (8 zero bytes for the    │ (4·n bytes; ids must be         │
 *     │  → 0 bytes)      │      │  first block of a prompt)│  integers in [0, 2^32))         │
 *     └──────────────────┴──────┴──────────────────────────┴─────────────────────────────────┘
 *
 *   hashPromptBlocks(tokens, S, salt) hashes the FULL blocks of a prompt, chaining each to the last:
 *
 *     tokens:  [ t0 … tS-1 ][ tS … t2S-1 ][ t2S … t2S+r-1 ]   (0 < r < S: partial, no hash)
 *     hashes:   h0 = hashBlock(null, block0, salt)
 *               h1 = hashBlock(h0,   block1, salt)
 *     result:  [h0, h1]                                     length = floor(len / S)
 *
 * Because hash i covers the salt and every token of blocks 0..i, equal hashes mean equal prefixes
 * (up to 64-bit collisions), so a block can be looked up by its hash alone. Tenants use different
 * salts, so their hashes never meet and they never share cache. DEFAULT_HASH_SALT is the salt of
 * single-tenant deployments.
 *
 * Known-answer vectors (computed with Python's hashlib; see test/kv/block-hash.test.ts):
 *   hashBlock(null, [1, 2, 3, 4], '')          = '269d55d70d18af5d'
 *   hashPromptBlocks([0..31], 16, '')          = ['ed42f74b60e4d6e5', 'b6b548607c41b781']
 *   hashPromptBlocks([0..15], 16, 'tenant-a')  = ['5d8b0b75c6f16fb3']
 */
import { createHash } from 'node:crypto';

/** 16 lowercase hex characters (64 bits). */
export type BlockHash = string;

export const DEFAULT_HASH_SALT = '';

/** Bytes of a BlockHash, and of the all-zero parent of a prompt's first block. */
const HASH_BYTES = 8;
const ROOT_PARENT = Buffer.alloc(HASH_BYTES);
const BLOCK_HASH_RE = /^[0-9a-f]{16}$/;
const MAX_TOKEN_ID = 0xffff_ffff;

export function isBlockHash(value: unknown): value is BlockHash {
  return typeof value === 'string' && BLOCK_HASH_RE.test(value);
}

/** Throws a RangeError naming the first token id that cannot be written as a uint32. */
export function assertTokenIds(tokenIds: ArrayLike<number>): void {
  for (let i = 0; i < tokenIds.length; i++) {
    const t = tokenIds[i];
    if (!Number.isInteger(t) || t < 0 || t > MAX_TOKEN_ID) {
      throw new RangeError(`token id at index ${i} must be an integer in [0, 2^32), got ${t}`);
    }
  }
}

export function hashBlock(
  parent: BlockHash | null,
  tokenIds: ArrayLike<number>,
  salt: string,
): BlockHash {
  if (parent !== null && !isBlockHash(parent)) {
    throw new TypeError(`parent must be null or 16 lowercase hex chars, got ${JSON.stringify(parent)}`);
  }
  assertTokenIds(tokenIds);
  const tokens = Buffer.allocUnsafe(4 * tokenIds.length);
  for (let i = 0; i < tokenIds.length; i++) tokens.writeUInt32LE(tokenIds[i], 4 * i);
  return createHash('sha256')
    .update(salt, 'utf8')
    .update(Buffer.of(0))
    .update(parent === null ? ROOT_PARENT : Buffer.from(parent, 'hex'))
    .update(tokens)
    .digest()
    .subarray(0, HASH_BYTES)
    .toString('hex');
}

/** Hashes of the full blocks of `tokenIds`, in order; a trailing partial block has none. */
export function hashPromptBlocks(
  tokenIds: ArrayLike<number>,
  blockSize: number,
  salt: string = DEFAULT_HASH_SALT,
): BlockHash[] {
  if (!Number.isInteger(blockSize) || blockSize <= 0) {
    throw new RangeError(`blockSize must be a positive integer, got ${blockSize}`);
  }
  const numFull = Math.floor(tokenIds.length / blockSize);
  const hashes: BlockHash[] = [];
  let parent: BlockHash | null = null;
  for (let b = 0; b < numFull; b++) {
    parent = hashBlock(parent, sliceBlock(tokenIds, b * blockSize, blockSize), salt);
    hashes.push(parent);
  }
  return hashes;
}

/** tokenIds[start, start+len); typed arrays are viewed, not copied. */
function sliceBlock(tokenIds: ArrayLike<number>, start: number, len: number): ArrayLike<number> {
  if (ArrayBuffer.isView(tokenIds)) {
    return (tokenIds as unknown as Uint32Array).subarray(start, start + len);
  }
  return Array.prototype.slice.call(tokenIds, start, start + len) as number[];
}
