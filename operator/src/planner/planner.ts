/**
 * The pool planner: a pure, deterministic function
 *
 *   plan({ policy, signals, current, nowMs, state }) → { desired, pools (+ reasons), state }
 *
 * run once per `policy.intervalSeconds` by whoever owns the clock (the operator's autoscaler, the
 * local launcher, the simulator). No I/O, no timers, no Date.now: the same inputs give the same
 * plan, and the only memory between calls is the returned `state` (recent recommendations).
 *
 *   1. recommend   each pool from its own signals         (recommend.ts)
 *   2. stabilise   over the scale-up / scale-down windows  (stabilize.ts)
 *   3. step limit  per interval
 *   4. bounds      minReplicas / maxReplicas
 *   5. ratio       prefill:decode bounds, jointly          (ratio.ts)
 */
import { POOLS, type PoolName, type ScalingPolicySpec } from './policy.ts';
import { projectToRatio } from './ratio.ts';
import { recommendDecode, recommendPrefill, type Recommendation, type RuleResult } from './recommend.ts';
import type { PlannerSignals, PoolReplicas } from './signals.ts';
import { pruneHistory, stabilize, type PlanReason, type RecommendationRecord } from './stabilize.ts';

export interface PlannerState {
  /** Raw recommendations per pool within the longer stabilisation window, oldest first. */
  history: Record<PoolName, readonly RecommendationRecord[]>;
}

export interface PlanInput {
  policy: ScalingPolicySpec;
  signals: PlannerSignals;
  /** Replicas that count as capacity now: running or starting, not draining. */
  current: PoolReplicas;
  /** The planner's clock, milliseconds (any epoch; only differences matter). */
  nowMs: number;
  /** The previous plan's state; omit on the first call. */
  state?: PlannerState;
}

export interface PoolDecision {
  current: number;
  /** The raw recommendation of step 1. */
  recommended: number;
  desired: number;
  /** Why, in step order: the rules that had data, then every step that changed the count. */
  reasons: PlanReason[];
}

export interface Plan {
  desired: PoolReplicas;
  pools: Record<PoolName, PoolDecision>;
  state: PlannerState;
}

export function initialPlannerState(): PlannerState {
  return { history: { prefill: [], decode: [] } };
}

function describeRule(r: RuleResult): PlanReason {
  const fmt = (x: number): string => (Number.isInteger(x) ? String(x) : x.toFixed(3));
  return { rule: r.rule, message: `${r.rule} ${fmt(r.observed)} vs target ${fmt(r.target)} → ${r.replicas}` };
}

function recommend(input: PlanInput, pool: PoolName): Recommendation {
  const { policy, signals, current } = input;
  return pool === 'prefill'
    ? recommendPrefill(policy.prefill, signals.prefill, current.prefill, policy.tolerance)
    : recommendDecode(policy.decode, signals.decode, current.decode, policy.tolerance);
}

function assertInput(input: PlanInput): void {
  for (const pool of POOLS) {
    const n = input.current[pool];
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`current.${pool} must be a non-negative integer, got ${n}`);
  }
  if (!Number.isFinite(input.nowMs)) throw new RangeError(`nowMs must be finite, got ${input.nowMs}`);
}

export function plan(input: PlanInput): Plan {
  assertInput(input);
  const { policy, current, nowMs } = input;
  const prev = input.state ?? initialPlannerState();
  const pools = {} as Record<PoolName, PoolDecision>;
  const history = {} as Record<PoolName, RecommendationRecord[]>;
  const target = {} as PoolReplicas;
  for (const pool of POOLS) {
    const rec = recommend(input, pool);
    const reasons: PlanReason[] = rec.rules.length === 0
      ? [{ rule: 'no-signals', message: `no ${pool} signal in this window: recommending the current ${current[pool]}` }]
      : rec.rules.map(describeRule);
    history[pool] = pruneHistory(policy[pool], [...prev.history[pool], { atMs: nowMs, replicas: rec.replicas }], nowMs);
    const s = stabilize(policy[pool], history[pool], current[pool], rec.replicas, nowMs);
    target[pool] = s.desired;
    pools[pool] = { current: current[pool], recommended: rec.replicas, desired: s.desired, reasons: [...reasons, ...s.reasons] };
  }
  const desired = projectToRatio(policy, target);
  for (const pool of POOLS) {
    if (desired[pool] === target[pool]) continue;
    const { min, max } = policy.prefillToDecodeRatio;
    pools[pool].reasons.push({
      rule: 'ratio',
      message: `prefill:decode must stay within [${min}, ${max}]: ${pool} ${target[pool]} → ${desired[pool]} (pair ${desired.prefill}:${desired.decode})`,
    });
    pools[pool].desired = desired[pool];
  }
  return { desired, pools, state: { history } };
}
