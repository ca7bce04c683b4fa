/**
 * The one typed error of the KV block manager. Bad arguments (non-integers, bad options) throw
 * RangeError/TypeError; KvCacheError is for calls that are well-formed but wrong for the current
 * state, which point at an engine bug rather than a bad request.
 */

export type KvCacheErrorCode =
  /** The sequence id is not open. */
  | 'unknown-sequence'
  /** openSequence on an id that is already open. */
  | 'duplicate-sequence'
  /** commitTokens past the slots allocated with allocateSlots. */
  | 'uncovered-commit';

export class KvCacheError extends Error {
  override readonly name = 'KvCacheError';

  constructor(
    readonly code: KvCacheErrorCode,
    message: string,
  ) {
    super(message);
  }
}
