/**
 * Steps 2–4 of a plan, per pool: stabilise the raw recommendation over time, limit the step, hold
 * the min/max bounds. Like the Kubernetes HPA's behaviour fields, with the windows in seconds:
 *
 *   history: recommendations r(t) of this pool, newest last (the current one included)
 *   up   = min { r(t) : t ≥ now − scaleUp.stabilizationWindowSeconds }
 *   down = max { r(t) : t ≥ now − scaleDown.stabilizationWindowSeconds }
 *   desired = up    if current < up         (every recommendation in the up window wants more)
 *           = down  if current > down       (every recommendation in the down window wants less)
 *           = current otherwise
 *   then    current − scaleDown.maxReplicasPerInterval ≤ desired ≤ current + scaleUp.maxReplicasPerInterval
 *   then    minReplicas ≤ desired ≤ maxReplicas   (bounds win over step limits)
 *
 * With the default up window of 0 the pool grows on the first interval that asks; a shrink waits
 * until the whole down window asked for less, so one quiet interval inside a busy period (flapping
 * input) changes nothing.
 */
import type { DecodePoolPolicy, PrefillPoolPolicy } from './policy.ts';

export interface RecommendationRecord {
  atMs: number;
  replicas: number;
}

export type PlanRule =
  | 'no-signals'
  | 'queued-prompt-tokens'
  | 'ttft-p90'
  | 'kv-utilization'
  | 'running-sequences'
  | 'tpot-p90'
  | 'scale-up-stabilized'
  | 'scale-down-stabilized'
  | 'step-limit'
  | 'min-replicas'
  | 'max-replicas'
  | 'ratio';

export interface PlanReason {
  rule: PlanRule;
  message: string;
}

type PoolPolicy = PrefillPoolPolicy | DecodePoolPolicy;

/** Records inside the longer of the pool's two windows (what later plans still need). */
export function pruneHistory(p: PoolPolicy, history: readonly RecommendationRecord[], nowMs: number): RecommendationRecord[] {
  const keepMs = Math.max(p.scaleUp.stabilizationWindowSeconds, p.scaleDown.stabilizationWindowSeconds) * 1000;
  return history.filter((r) => r.atMs >= nowMs - keepMs && r.atMs <= nowMs);
}

function windowed(history: readonly RecommendationRecord[], nowMs: number, windowSeconds: number): number[] {
  return history.filter((r) => r.atMs >= nowMs - windowSeconds * 1000).map((r) => r.replicas);
}

/** Steps 2–4; `history` already holds this interval's recommendation. Returns the count and why. */
export function stabilize(
  p: PoolPolicy,
  history: readonly RecommendationRecord[],
  current: number,
  recommended: number,
  nowMs: number,
): { desired: number; reasons: PlanReason[] } {
  const reasons: PlanReason[] = [];
  const up = Math.min(recommended, ...windowed(history, nowMs, p.scaleUp.stabilizationWindowSeconds));
  const down = Math.max(recommended, ...windowed(history, nowMs, p.scaleDown.stabilizationWindowSeconds));
  let desired = current < up ? up : current > down ? down : current;
  if (recommended > current && desired < recommended) {
    const w = p.scaleUp.stabilizationWindowSeconds;
    reasons.push({ rule: 'scale-up-stabilized', message: `lowest recommendation in the last ${w}s is ${up}; growing to ${desired}, not ${recommended}` });
  }
  if (recommended < current && desired > recommended) {
    const w = p.scaleDown.stabilizationWindowSeconds;
    reasons.push({ rule: 'scale-down-stabilized', message: `highest recommendation in the last ${w}s is ${down}; holding ${desired}, not ${recommended}` });
  }
  const stepMax = current + p.scaleUp.maxReplicasPerInterval;
  const stepMin = Math.max(0, current - p.scaleDown.maxReplicasPerInterval);
  if (desired > stepMax || desired < stepMin) {
    const limited = Math.min(stepMax, Math.max(stepMin, desired));
    reasons.push({ rule: 'step-limit', message: `at most +${p.scaleUp.maxReplicasPerInterval}/-${p.scaleDown.maxReplicasPerInterval} per interval: ${desired} → ${limited}` });
    desired = limited;
  }
  if (desired < p.minReplicas) {
    reasons.push({ rule: 'min-replicas', message: `raised ${desired} → minReplicas ${p.minReplicas}` });
    desired = p.minReplicas;
  }
  if (desired > p.maxReplicas) {
    reasons.push({ rule: 'max-replicas', message: `lowered ${desired} → maxReplicas ${p.maxReplicas}` });
    desired = p.maxReplicas;
  }
  return { desired, reasons };
}
