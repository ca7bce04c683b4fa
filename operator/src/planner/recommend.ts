/**
 * Step 1 of a plan: one raw recommendation per pool from this interval's signals, before
 * stabilisation, step limits, bounds and the ratio.
 *
 * Each rule gives a replica count; the pool's recommendation is the largest (the pool must satisfy
 * every target at once). Two kinds of rule, as in the Kubernetes HPA:
 *
 *   per-replica total   n = ceil(total / targetPerReplica)       queued prompt tokens, sequences
 *   ratio to target     n = ceil(current × observed / target)    KV utilisation, TTFT p90, TPOT p90
 *
 * Within `tolerance` of the target (|observed / target − 1| ≤ tolerance, with observed per replica
 * for the totals) a rule recommends the current count, so noise around the target changes nothing.
 * A ratio rule on an empty pool (current 0) that is over target recommends 1: a latency cannot say
 * how many replicas a pool of none needs, only that it needs one.
 */
import type { DecodePoolPolicy, PoolName, PrefillPoolPolicy } from './policy.ts';
import type { DecodeSignals, PrefillSignals } from './signals.ts';

export type SignalRule = 'queued-prompt-tokens' | 'ttft-p90' | 'kv-utilization' | 'running-sequences' | 'tpot-p90';

export interface RuleResult {
  rule: SignalRule;
  observed: number;
  target: number;
  replicas: number;
}

export interface Recommendation {
  pool: PoolName;
  /** The largest rule result; `current` when no rule had data. */
  replicas: number;
  /** Every rule that had data, in a fixed order. */
  rules: RuleResult[];
}

const ceil = (x: number): number => Math.ceil(x - 1e-9);

function withinTolerance(observed: number, target: number, tolerance: number): boolean {
  return Math.abs(observed / target - 1) <= tolerance;
}

/** n = ceil(total / perReplica), or `current` when the per-replica load is within tolerance. */
export function perReplicaRule(rule: SignalRule, total: number, perReplica: number, current: number, tolerance: number): RuleResult {
  const perReplicaNow = current > 0 ? total / current : Infinity;
  const replicas = current > 0 && withinTolerance(perReplicaNow, perReplica, tolerance) ? current : ceil(total / perReplica);
  return { rule, observed: total, target: perReplica, replicas };
}

/** n = ceil(current × observed / target), or `current` within tolerance; an empty pool over target → 1. */
export function ratioRule(rule: SignalRule, observed: number, target: number, current: number, tolerance: number): RuleResult {
  let replicas: number;
  if (withinTolerance(observed, target, tolerance)) replicas = current;
  else if (current === 0) replicas = observed > target ? 1 : 0;
  else replicas = ceil((current * observed) / target);
  return { rule, observed, target, replicas };
}

function combine(pool: PoolName, current: number, rules: RuleResult[]): Recommendation {
  const replicas = rules.length === 0 ? current : Math.max(...rules.map((r) => r.replicas));
  return { pool, replicas, rules };
}

export function recommendPrefill(p: PrefillPoolPolicy, s: PrefillSignals, current: number, tolerance: number): Recommendation {
  const rules: RuleResult[] = [];
  if (s.queuedPromptTokens !== null) {
    rules.push(perReplicaRule('queued-prompt-tokens', s.queuedPromptTokens, p.thresholds.queuedPromptTokensPerReplica, current, tolerance));
  }
  if (s.ttftP90Ms !== null) rules.push(ratioRule('ttft-p90', s.ttftP90Ms, p.slo.ttftP90Ms, current, tolerance));
  return combine('prefill', current, rules);
}

export function recommendDecode(p: DecodePoolPolicy, s: DecodeSignals, current: number, tolerance: number): Recommendation {
  const rules: RuleResult[] = [];
  if (s.kvUtilization !== null) rules.push(ratioRule('kv-utilization', s.kvUtilization, p.thresholds.kvUtilization, current, tolerance));
  if (s.runningSequences !== null) {
    rules.push(perReplicaRule('running-sequences', s.runningSequences, p.thresholds.runningSequencesPerReplica, current, tolerance));
  }
  if (s.tpotP90Ms !== null) rules.push(ratioRule('tpot-p90', s.tpotP90Ms, p.slo.tpotP90Ms, current, tolerance));
  return combine('decode', current, rules);
}
