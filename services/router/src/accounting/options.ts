/**
 * The accounting's one options object: defaults here, validated once, a bad value reported with its
 * config path (e.g. `accounting.reservationTtlMs: Too small: expected number to be >0`).
 */
import { z } from 'zod';

export const DEFAULT_ACCOUNTING_KEY_PREFIX = 'duet:router:';

export const accountingOptionsSchema = z.strictObject({
  /** Set: share the accounting between router replicas through this Redis. Unset: in-process only. */
  redisUrl: z
    .string()
    .regex(/^rediss?:\/\/\S+$/, 'expected redis://host:port or rediss://host:port')
    .optional(),
  /** Prepended to every Redis key; replicas that must share accounting use the same prefix. */
  keyPrefix: z.string().min(1).default(DEFAULT_ACCOUNTING_KEY_PREFIX),
  /**
   * A reservation whose completion events never came (gateway or worker crashed, events lost) is
   * given back this long after it was made. Longer than the longest request should run.
   */
  reservationTtlMs: z.number().int().positive().default(10 * 60_000),
  /**
   * `reconcileIdle` releases only reservations made at least this long before the idle report was
   * sent: covers the time between placement and the worker admitting the request (including a
   * decode worker waiting for its KV) and clock skew between router and worker.
   */
  idleGraceMs: z.number().int().min(0).default(60_000),
  /**
   * Redis only: read() may answer from the last snapshot a script of this client returned, if it
   * is younger than this. Safe for decisions (reserve with ifVersion rejects a stale view and
   * refreshes the snapshot in the same round trip); 0 = always ask Redis.
   */
  readCacheMs: z.number().int().min(0).default(250),
  /** Redis only: a command not answered by then fails with AccountingUnavailableError. */
  commandTimeoutMs: z.number().int().positive().default(2_000),
  /** Redis only: at most this many expired reservations are swept per script call. */
  sweepLimit: z.number().int().positive().default(512),
});

export type AccountingOptionsInput = z.input<typeof accountingOptionsSchema>;
export type AccountingOptions = z.output<typeof accountingOptionsSchema>;

/** Options that fail the schema; `path` is the dotted config path of the first bad value. */
export class InvalidAccountingOptionsError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'InvalidAccountingOptionsError';
  }
}

/** Parses and defaults `input`; `at` is where these options live in the caller's config. */
export function resolveAccountingOptions(input: AccountingOptionsInput = {}, at = 'accounting'): AccountingOptions {
  const r = accountingOptionsSchema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new InvalidAccountingOptionsError([at, ...issue.path.map(String)].join('.'), issue.message);
}
