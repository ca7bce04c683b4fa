/**
 * Load accounting shared by router replicas through Redis (ioredis). Every operation is one Lua
 * script (lua.ts), so one round trip and atomic: reserve-if-version is a compare-and-set on the
 * version key, and replicas deciding against the version they read are serialized as if one
 * router made every decision.
 *
 * Read cache: reserve and read scripts return the full snapshot they leave behind. read() answers
 * from the latest one while it is younger than `readCacheMs`. A stale answer is still safe for the
 * decision loop: the version it carries makes reserve({ ifVersion }) fail, and that failing reply is
 * itself the fresh snapshot, so the retry costs no extra round trip. A release/drop/reconcile of
 * this client that changed something drops the cache.
 *
 * No I/O in the constructor: the client connects on the first command (lazyConnect).
 */
import { Redis } from 'ioredis';
import { ACCOUNTING_KEYS, READ_LUA, RELEASE_LUA, RESERVE_LUA, WORKER_PARTS_LUA } from './lua.ts';
import { resolveAccountingOptions, type AccountingOptions, type AccountingOptionsInput } from './options.ts';
import {
  AccountingUnavailableError,
  normalizeReservation,
  type AccountingView,
  type LoadAccounting,
  type Reservation,
  type ReleaseOptions,
  type ReleasePhase,
  type ReserveOptions,
  type WorkerLoad,
} from './types.ts';

type Arg = string | number;
type ScriptCall = (...args: Arg[]) => Promise<unknown>;

interface ScriptedRedis extends Redis {
  duetAcctRead: ScriptCall;
  duetAcctReserve: ScriptCall;
  duetAcctRelease: ScriptCall;
  duetAcctWorkerParts: ScriptCall;
}

type SnapshotReply = [number, string, string[], string[], string[]];

/** The part of a pino Logger (@duet/core createLogger) the accounting uses. */
export interface WarnLogger {
  warn(obj: object, msg: string): void;
}

export interface RedisAccountingDeps {
  /** Clock for reservation times and expiry (tests). */
  now?: () => number;
  /** Connection errors are logged here at warn (calls fail with AccountingUnavailableError either way). */
  logger?: WarnLogger;
}

export class RedisAccounting implements LoadAccounting {
  readonly options: AccountingOptions;
  private readonly redis: ScriptedRedis;
  private readonly now: () => number;
  private cache: { view: AccountingView; atMs: number } | null = null;

  constructor(options: AccountingOptionsInput & { redisUrl: string }, deps: RedisAccountingDeps = {}) {
    this.options = resolveAccountingOptions(options);
    this.now = deps.now ?? Date.now;
    const redis = new Redis(options.redisUrl, {
      keyPrefix: this.options.keyPrefix,
      lazyConnect: true,
      commandTimeout: this.options.commandTimeoutMs,
      maxRetriesPerRequest: 1,
    });
    // ioredis reconnects by itself; the failing calls reject with AccountingUnavailableError.
    redis.on('error', (err: Error) => deps.logger?.warn({ err, keyPrefix: this.options.keyPrefix }, 'accounting redis connection error'));
    const keys = ACCOUNTING_KEYS.length;
    redis.defineCommand('duetAcctRead', { numberOfKeys: keys, lua: READ_LUA });
    redis.defineCommand('duetAcctReserve', { numberOfKeys: keys, lua: RESERVE_LUA });
    redis.defineCommand('duetAcctRelease', { numberOfKeys: keys, lua: RELEASE_LUA });
    redis.defineCommand('duetAcctWorkerParts', { numberOfKeys: keys, lua: WORKER_PARTS_LUA });
    this.redis = redis as ScriptedRedis;
  }

  async read(): Promise<AccountingView> {
    const c = this.cache;
    if (c && this.options.readCacheMs > 0 && this.now() - c.atMs < this.options.readCacheMs) return c.view;
    const reply = await this.call('read', () => this.redis.duetAcctRead(...ACCOUNTING_KEYS, this.now(), this.options.sweepLimit));
    return this.remember(reply as SnapshotReply).view;
  }

  async reserve(r: Reservation, opts: ReserveOptions = {}): Promise<boolean> {
    const n = normalizeReservation(r);
    const ifVersion = opts.ifVersion === undefined ? '' : String(opts.ifVersion);
    const o = this.options;
    const args: Arg[] = [ifVersion, n.requestId, n.prefillWorkerId ?? n.decodeWorkerId, n.prefillTokens, n.decodeWorkerId, n.decodeBlocks, this.now(), o.reservationTtlMs, o.sweepLimit];
    const reply = await this.call('reserve', () => this.redis.duetAcctReserve(...ACCOUNTING_KEYS, ...args));
    return this.remember(reply as SnapshotReply).ok;
  }

  async release(requestId: string, phase: ReleasePhase, opts: ReleaseOptions = {}): Promise<void> {
    const changed = await this.call('release', () => this.redis.duetAcctRelease(...ACCOUNTING_KEYS, requestId, phase, opts.workerId ?? ''));
    if (changed === 1) this.cache = null;
  }

  async dropWorker(workerId: string): Promise<void> {
    await this.call('dropWorker', () => this.redis.duetAcctWorkerParts(...ACCOUNTING_KEYS, workerId, 'drop', 0));
    this.cache = null;
  }

  async reconcileIdle(workerId: string, reportSentAtUnixMs: number): Promise<number> {
    const cutoff = reportSentAtUnixMs - this.options.idleGraceMs;
    const n = (await this.call('reconcileIdle', () => this.redis.duetAcctWorkerParts(...ACCOUNTING_KEYS, workerId, 'idle', cutoff))) as number;
    if (n > 0) this.cache = null;
    return n;
  }

  /** Closes the Redis connection (QUIT; a disconnect if the server is gone). Idempotent. */
  async close(): Promise<void> {
    this.cache = null;
    if (this.redis.status === 'end') return;
    if (this.redis.status !== 'ready') return this.redis.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private async call(op: string, fn: () => Promise<unknown>): Promise<unknown> {
    try {
      return await fn();
    } catch (err) {
      throw new AccountingUnavailableError(op, { cause: err });
    }
  }

  /** The newest snapshot this client has seen (replies of one connection arrive in command order). */
  private remember(reply: SnapshotReply): { ok: boolean; view: AccountingView } {
    const view = parseSnapshot(reply);
    this.cache = { view, atMs: this.now() };
    return { ok: reply[0] === 1, view };
  }
}

/** { status, version, prefill, blocks, seqs } (flat HGETALL arrays) → a frozen view. */
export function parseSnapshot(reply: SnapshotReply): AccountingView {
  const [, version, prefill, blocks, seqs] = reply;
  const loads = new Map<string, WorkerLoad>();
  const fill = (flat: string[], counter: keyof WorkerLoad) => {
    for (let i = 0; i < flat.length; i += 2) {
      let l = loads.get(flat[i]);
      if (!l) loads.set(flat[i], (l = { prefillTokens: 0, decodeBlocks: 0, runningSeqs: 0 }));
      l[counter] = Number(flat[i + 1]);
    }
  };
  fill(prefill, 'prefillTokens');
  fill(blocks, 'decodeBlocks');
  fill(seqs, 'runningSeqs');
  for (const l of loads.values()) Object.freeze(l);
  return Object.freeze({ version: Number(version), loads });
}
