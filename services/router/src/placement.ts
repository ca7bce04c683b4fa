/**
 * PolicyPlacer: one placement = read the accounting → decide with the live policy → reserve if
 * the accounting has not moved since the read (compare-and-set on its version). A conflict means
 * another decision (this replica or another, through Redis) landed first: read again and decide
 * again, up to `casRetries` times, then reserve unconditionally. So replicas decide as if one
 * router made every decision in turn, without a lock held across the decision. Within one replica
 * decisions are serialised, so conflicts come only from other replicas.
 *
 * If the accounting store is unavailable (Redis down), placement goes on without load figures
 * (prefix locality and heartbeats still work) and says so in the reason: availability first.
 */
import type { Logger, PlacementRequest } from '@duet/core';
import { AccountingUnavailableError, type LoadAccounting } from './accounting/index.ts';
import type { FleetState } from './fleet.ts';
import { decide, describeDecision, type Decision } from './pipeline/decide.ts';
import type { ExpertVector } from './plugins/types.ts';
import type { LivePolicy } from './policy/live.ts';

/** A placement that computes fewer new prompt tokens than this adds nothing worth recording as pending. */
const PENDING_MIN_NEW_TOKENS = 64;

export interface PlacementOutcome {
  decision: Decision;
  /** Decisions made before the one kept (CAS conflicts). */
  conflicts: number;
  /** The accounting could not be read or written: placed without load figures. */
  degraded: boolean;
}

export class PolicyPlacer {
  constructor(
    private readonly fleet: FleetState,
    private readonly accounting: LoadAccounting,
    private readonly policy: LivePolicy,
    private readonly logger: Logger,
    private readonly casRetries = 3,
  ) {}

  private tail: Promise<unknown> = Promise.resolve();

  /**
   * Decisions of one replica run one at a time (a promise chain): concurrent decisions in one
   * process would all read the same version and all but one conflict. Across replicas the CAS
   * orders them.
   */
  place(req: PlacementRequest): Promise<PlacementOutcome> {
    const run = this.tail.then(() => this.placeNow(req));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async placeNow(req: PlacementRequest): Promise<PlacementOutcome> {
    for (let attempt = 0; ; attempt++) {
      let view;
      try {
        view = await this.accounting.read();
      } catch (err) {
        return this.degraded(req, err, attempt);
      }
      const policy = this.policy.current;
      const decision = decide(policy, req, this.fleet.routingState(view.loads));
      this.log(policy.decisionLog, req, decision);
      const res = decision.reservation;
      if (!res) return { decision, conflicts: attempt, degraded: false };
      const last = attempt >= this.casRetries;
      let ok: boolean;
      try {
        ok = await this.accounting.reserve(res, last ? {} : { ifVersion: view.version });
      } catch (err) {
        return this.degraded(req, err, attempt);
      }
      if (ok) {
        // Prompt blocks the index did not already place on the prefiller: their events are still to come.
        if (res.prefillTokens >= PENDING_MIN_NEW_TOKENS) this.fleet.pending.record(req.blockHashes, [res.prefillWorkerId ?? res.decodeWorkerId, res.decodeWorkerId]);
        const predicted = decision.memo.get('expert-profile') as ExpertVector | null | undefined;
        this.fleet.experts.onPlaced(req.requestId, res.decodeWorkerId, predicted !== undefined ? predicted : this.fleet.profiles.predict(req.blockHashes));
        return { decision, conflicts: attempt, degraded: false };
      }
    }
  }

  private degraded(req: PlacementRequest, err: unknown, attempt: number): PlacementOutcome {
    if (!(err instanceof AccountingUnavailableError)) throw err;
    this.logger.warn({ err: err.message, requestId: req.requestId }, 'accounting unavailable: placing without load figures');
    const decision = decide(this.policy.current, req, this.fleet.routingState(new Map()));
    const r = decision.response.result;
    if (r?.case === 'placed') r.value.reason = `${r.value.reason ?? ''} [accounting unavailable]`;
    return { decision, conflicts: attempt, degraded: true };
  }

  private log(info: boolean, req: PlacementRequest, decision: Decision): void {
    const level = info ? 'info' : 'debug';
    if (!this.logger.isLevelEnabled(level)) return;
    this.logger[level]({ requestId: req.requestId, ...describeDecision(decision) }, 'decision');
  }
}
