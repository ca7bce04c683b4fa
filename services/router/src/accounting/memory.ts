/**
 * Load accounting inside one router process: the default with a single replica and no Redis.
 * Every call is one synchronous ledger transition, so a read→reserve with `ifVersion` fails only
 * when another placement or an event of this process interleaved between the two awaits.
 */
import { Ledger } from './ledger.ts';
import { resolveAccountingOptions, type AccountingOptionsInput, type AccountingOptions } from './options.ts';
import { normalizeReservation, type AccountingView, type LoadAccounting, type Reservation, type ReleasePhase, type ReleaseOptions, type ReserveOptions } from './types.ts';

export class InMemoryAccounting implements LoadAccounting {
  private readonly ledger: Ledger;
  private readonly options: AccountingOptions;
  private readonly now: () => number;
  private closed = false;

  constructor(options: AccountingOptionsInput = {}, deps: { now?: () => number } = {}) {
    this.options = resolveAccountingOptions(options);
    this.ledger = new Ledger(this.options.reservationTtlMs);
    this.now = deps.now ?? Date.now;
  }

  /** Reservations not yet fully released or expired (for tests and metrics). */
  get openReservations(): number {
    return this.ledger.openReservations;
  }

  read(): Promise<AccountingView> {
    return this.run('read', () => {
      this.ledger.sweep(this.now());
      return this.ledger.view();
    });
  }

  reserve(r: Reservation, opts: ReserveOptions = {}): Promise<boolean> {
    return this.run('reserve', () => {
      const n = normalizeReservation(r);
      if (opts.ifVersion !== undefined && opts.ifVersion !== this.ledger.version) return false;
      this.ledger.reserve(n, this.now());
      return true;
    });
  }

  release(requestId: string, phase: ReleasePhase, opts: ReleaseOptions = {}): Promise<void> {
    return this.run('release', () => void this.ledger.release(requestId, phase, opts.workerId));
  }

  dropWorker(workerId: string): Promise<void> {
    return this.run('dropWorker', () => void this.ledger.dropWorker(workerId));
  }

  reconcileIdle(workerId: string, reportSentAtUnixMs: number): Promise<number> {
    return this.run('reconcileIdle', () => this.ledger.reconcileIdle(workerId, reportSentAtUnixMs - this.options.idleGraceMs));
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  /** One ledger transition as a settled promise: errors (closed, invalid reservation) reject. */
  private run<T>(op: string, fn: () => T): Promise<T> {
    try {
      if (this.closed) throw new Error(`InMemoryAccounting.${op}: accounting is closed`);
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }
}
