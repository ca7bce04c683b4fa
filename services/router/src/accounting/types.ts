/**
 * The contract of router-side load accounting: what a placement reserves on which worker, what a
 * completion event gives back, and the versioned snapshot decisions are made against.
 *
 * A reservation has two parts, each released at most once:
 *
 *   prefill part  prefillTokens  on prefillWorkerId (or on decodeWorkerId when it prefills locally)
 *                                 ← released by PREFILL_DONE, FINISHED, REJECTED
 *   decode part   decodeBlocks + 1 running sequence on decodeWorkerId
 *                                 ← released by FINISHED, REJECTED
 *
 * Every router replica receives every completion event, so `release` is idempotent per request and
 * part: a part already given back (or a request never reserved, or expired) changes nothing and
 * does not change the version.
 *
 * The decision loop this contract is built for (decisions serializable as if one router made them):
 *
 *   view = await read()  ─▶ pick with view.loads ─▶ ok = await reserve(r, { ifVersion: view.version })
 *     ok: done     not ok: another mutation came first ─▶ read again and re-pick (bounded retries)
 */

export interface Reservation {
  requestId: string;
  /** Absent (or equal to decodeWorkerId): the decode worker prefills locally and carries the prefill part. */
  prefillWorkerId?: string;
  /** Uncached prompt tokens the prefilling worker will compute. */
  prefillTokens: number;
  decodeWorkerId: string;
  /** ceil((promptTokens + maxTokens) / blockSize): see `decodeBlocksFor`. */
  decodeBlocks: number;
}

export interface WorkerLoad {
  prefillTokens: number;
  decodeBlocks: number;
  runningSeqs: number;
}

export interface AccountingView {
  /** Changes on every mutation; equal versions mean equal loads. */
  version: number;
  /** Workers with any load; a worker not listed has none (see `loadOf`). */
  loads: ReadonlyMap<string, WorkerLoad>;
}

export type ReleasePhase = 'prefill' | 'all';

export interface ReleaseOptions {
  /**
   * The worker that sent the completion event. When given, the release applies only if the
   * reservation involves this worker: a late REJECTED from a worker the request was moved away
   * from cannot release the new placement's load.
   */
  workerId?: string;
}

export interface ReserveOptions {
  /** Reserve only if the accounting is still at this version (from `read()`); otherwise `false`. */
  ifVersion?: number;
}

export interface LoadAccounting {
  /** A consistent snapshot of all loads and its version. Sweeps expired reservations first. */
  read(): Promise<AccountingView>;
  /**
   * Adds the reservation (replacing an earlier one of the same request id, whose remaining parts
   * are given back first). `false` only when `ifVersion` is given and the version moved on.
   */
  reserve(r: Reservation, opts?: ReserveOptions): Promise<boolean>;
  /** 'prefill' gives back the prefill part, 'all' both parts. Idempotent. */
  release(requestId: string, phase: ReleasePhase, opts?: ReleaseOptions): Promise<void>;
  /** Forgets a dead worker: its counters and its parts of every reservation. */
  dropWorker(workerId: string): Promise<void>;
  /**
   * Drift correction from a worker's own LoadReport saying it holds nothing (`isIdleReport`): its
   * parts of reservations made at least `idleGraceMs` before `reportSentAtUnixMs` are released
   * (their completion events were lost). Returns how many reservations were touched.
   */
  reconcileIdle(workerId: string, reportSentAtUnixMs: number): Promise<number>;
  close(): Promise<void>;
}

const NO_LOAD: WorkerLoad = Object.freeze({ prefillTokens: 0, decodeBlocks: 0, runningSeqs: 0 });

/** The load of `workerId` in `view`, zeros when it has none. */
export function loadOf(view: AccountingView, workerId: string): WorkerLoad {
  return view.loads.get(workerId) ?? NO_LOAD;
}

/** Decode KV blocks a request may use by its end: ceil((promptTokens + maxTokens) / blockSize). */
export function decodeBlocksFor(promptTokens: number, maxTokens: number, blockSize: number): number {
  if (!(blockSize > 0)) throw new RangeError(`decodeBlocksFor: blockSize must be > 0, got ${blockSize}`);
  return Math.ceil((promptTokens + maxTokens) / blockSize);
}

/** The fields of a LoadReport that `isIdleReport` reads (structurally compatible with wire.loadReport). */
export interface IdleReportFields {
  runningSeqs: number;
  waitingSeqs: number;
  inflightPrefillTokens: number;
}

/** A LoadReport of a worker that holds no request: nothing running, waiting or left to prefill. */
export function isIdleReport(r: IdleReportFields): boolean {
  return r.runningSeqs === 0 && r.waitingSeqs === 0 && r.inflightPrefillTokens === 0;
}

/** A reservation the accounting refuses to store; `field` names the bad field. */
export class InvalidReservationError extends Error {
  constructor(
    readonly field: keyof Reservation,
    readonly value: unknown,
    reason: string,
  ) {
    super(`invalid reservation ${field}=${JSON.stringify(value)}: ${reason}`);
    this.name = 'InvalidReservationError';
  }
}

/** Shared store unreachable or failing; `op` is the accounting operation, the driver error is `cause`. */
export class AccountingUnavailableError extends Error {
  constructor(
    readonly op: string,
    options: { cause: unknown },
  ) {
    const why = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(`load accounting ${op} failed: ${why}`, options);
    this.name = 'AccountingUnavailableError';
  }
}

function checkId(field: 'requestId' | 'decodeWorkerId' | 'prefillWorkerId', v: unknown): void {
  if (typeof v !== 'string' || v.length === 0) throw new InvalidReservationError(field, v, 'must be a non-empty string');
}

function checkCount(field: 'prefillTokens' | 'decodeBlocks', v: unknown): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new InvalidReservationError(field, v, 'must be an integer ≥ 0');
}

/** The reservation in canonical form (local prefill as no prefill worker), or InvalidReservationError. */
export function normalizeReservation(r: Reservation): Reservation {
  checkId('requestId', r.requestId);
  checkId('decodeWorkerId', r.decodeWorkerId);
  if (r.prefillWorkerId !== undefined) checkId('prefillWorkerId', r.prefillWorkerId);
  checkCount('prefillTokens', r.prefillTokens);
  checkCount('decodeBlocks', r.decodeBlocks);
  const local = r.prefillWorkerId === undefined || r.prefillWorkerId === r.decodeWorkerId;
  return {
    requestId: r.requestId,
    ...(local ? {} : { prefillWorkerId: r.prefillWorkerId }),
    prefillTokens: r.prefillTokens,
    decodeWorkerId: r.decodeWorkerId,
    decodeBlocks: r.decodeBlocks,
  };
}
