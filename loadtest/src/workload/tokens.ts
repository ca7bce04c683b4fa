/**
 * Token ids for synthetic prompts. A prompt is made of blocks; a block is a pure function of a key
 * (a trace hash id, a system-prompt number …), so equal keys give equal blocks and a shared key
 * sequence gives a shared token prefix.
 *
 * Distinct keys give distinct blocks by construction, not by chance: the first KEY_DIGITS tokens of
 * a block spell the key in base (hi − lo), and 4 digits of base ≥ 256 cover every 32-bit key.
 *
 *   block(key) = [ digit3(key) digit2(key) digit1(key) digit0(key) | seeded random tokens … ]
 */
import { Rng, mix32 } from './rng.ts';
import { WorkloadError, type TokenRange } from './types.ts';

const KEY_DIGITS = 4;
/** Byte tokens (0–255) and the five special tokens at the top of a generated vocabulary are avoided. */
const FIRST_ID = 256;
const TOP_SPECIALS = 5;

/** Ids 256 … vocabSize − 6: no byte tokens, none of the last five (the generated models' specials). */
export function tokenRangeForVocab(vocabSize: number): TokenRange {
  if (!Number.isInteger(vocabSize) || vocabSize < FIRST_ID + TOP_SPECIALS + 256) {
    throw new WorkloadError(`vocab size must be an integer ≥ ${FIRST_ID + TOP_SPECIALS + 256}, got ${vocabSize}`);
  }
  return { lo: FIRST_ID, hi: vocabSize - TOP_SPECIALS };
}

export function randomTokens(rng: Rng, length: number, range: TokenRange): number[] {
  const span = range.hi - range.lo;
  return Array.from({ length }, () => range.lo + rng.int(span));
}

/** The `size` tokens of block `key` (0 ≤ key < 2³²); `salt` varies the random tail between workloads. */
export function blockTokens(key: number, size: number, range: TokenRange, salt = 0): number[] {
  const base = range.hi - range.lo;
  const out: number[] = [];
  let k = key;
  for (let d = 0; d < Math.min(KEY_DIGITS, size); d++) {
    out.push(range.lo + (k % base));
    k = Math.floor(k / base);
  }
  const rng = new Rng(mix32(key >>> 0) ^ salt, Math.floor(key / 4294967296));
  return out.concat(randomTokens(rng, size - out.length, range));
}

/** Blocks are collision-free only when they hold every key digit. */
export function blocksAreDistinct(size: number, range: TokenRange): boolean {
  return size >= KEY_DIGITS && range.hi - range.lo >= 256;
}
