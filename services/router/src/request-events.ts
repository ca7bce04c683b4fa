/**
 * What a RequestEvent changes in the router: PREFILL_DONE gives back the prefill part of the
 * request's reservation and teaches the prompt's expert profile (MoE) — by prefix for future
 * requests, and to the decode worker's expert load now; FINISHED and REJECTED give back all of it.
 * Releases name the reporting worker, so a late event from a worker the request left cannot
 * release its new placement. Every replica applies every event; releases are idempotent.
 */
import { RequestPhase, type Logger, type RequestEvent, type RequestEventBatch } from '@duet/core';
import type { LoadAccounting } from './accounting/index.ts';
import { histogramToVector } from './experts/index.ts';
import type { FleetState } from './fleet.ts';

export class RequestEventHandler {
  readonly counts = { prefillDone: 0, finished: 0, rejected: 0, profiles: 0 };

  constructor(
    private readonly fleet: FleetState,
    private readonly accounting: LoadAccounting,
    private readonly logger: Logger,
  ) {}

  async apply(batch: RequestEventBatch): Promise<void> {
    for (const e of batch.events) await this.one(e);
  }

  private learnProfile(e: RequestEvent): void {
    const profile = histogramToVector(e.expertHistogram);
    if (!profile) return;
    this.counts.profiles++;
    if (e.blockHashes.length) this.fleet.profiles.record(e.blockHashes, profile);
    this.fleet.experts.onProfile(e.requestId, profile);
  }

  private async one(e: RequestEvent): Promise<void> {
    const opts = { workerId: e.workerId };
    try {
      switch (e.phase) {
        case RequestPhase.PREFILL_DONE:
          this.counts.prefillDone++;
          this.learnProfile(e);
          await this.accounting.release(e.requestId, 'prefill', opts);
          return;
        case RequestPhase.FINISHED:
          this.counts.finished++;
          this.learnProfile(e);
          this.fleet.experts.onFinished(e.requestId);
          await this.accounting.release(e.requestId, 'all', opts);
          return;
        case RequestPhase.REJECTED:
          this.counts.rejected++;
          this.fleet.experts.onFinished(e.requestId);
          await this.accounting.release(e.requestId, 'all', opts);
          return;
        default:
          this.logger.warn({ phase: e.phase, requestId: e.requestId }, 'request event of unknown phase ignored');
      }
    } catch (err) {
      // The reservation then expires by TTL (or by an idle report): logged, not fatal.
      this.logger.warn({ err: (err as Error).message, requestId: e.requestId }, 'accounting release failed');
    }
  }
}
