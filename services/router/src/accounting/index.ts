/**
 * Router-side load accounting: per-worker prefill tokens in flight, decode KV blocks and running
 * sequences, reserved at placement and released by completion events; in process or shared by
 * router replicas through Redis. See README.md beside this file.
 */
export {
  AccountingUnavailableError,
  InvalidReservationError,
  decodeBlocksFor,
  isIdleReport,
  loadOf,
  normalizeReservation,
  type AccountingView,
  type IdleReportFields,
  type LoadAccounting,
  type ReleaseOptions,
  type ReleasePhase,
  type Reservation,
  type ReserveOptions,
  type WorkerLoad,
} from './types.ts';
export {
  DEFAULT_ACCOUNTING_KEY_PREFIX,
  InvalidAccountingOptionsError,
  accountingOptionsSchema,
  resolveAccountingOptions,
  type AccountingOptions,
  type AccountingOptionsInput,
} from './options.ts';
export { InMemoryAccounting } from './memory.ts';
export { RedisAccounting, type RedisAccountingDeps, type WarnLogger } from './redis.ts';
export { createAccounting } from './create.ts';
