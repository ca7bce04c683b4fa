/**
 * Fake-time driver for planner scenarios: calls `plan` once per interval with signals from a
 * function of time and applies each plan at once (an ideal actuator), recording the replicas.
 */
import { noSignals, parseScalingPolicySpec, plan, type Plan, type PlannerSignals, type PlannerState, type PoolReplicas, type ScalingPolicySpec, type ScalingPolicySpecInput } from '../src/planner/index.ts';

export function policy(input: ScalingPolicySpecInput = {}): ScalingPolicySpec {
  return parseScalingPolicySpec(input);
}

/** Signals with only the given fields set; every other rule has no data. */
export function signals(s: { prefill?: Partial<PlannerSignals['prefill']>; decode?: Partial<PlannerSignals['decode']> }): PlannerSignals {
  const base = noSignals();
  return { prefill: { ...base.prefill, ...s.prefill }, decode: { ...base.decode, ...s.decode } };
}

export interface Step {
  atS: number;
  replicas: PoolReplicas;
  plan: Plan;
}

/** Runs `intervals` plans at t = 0, I, 2I, … seconds from `start`; returns the replicas after each. */
export function run(p: ScalingPolicySpec, start: PoolReplicas, intervals: number, at: (tS: number, current: PoolReplicas) => PlannerSignals): Step[] {
  let current = start;
  let state: PlannerState | undefined;
  const out: Step[] = [];
  for (let i = 0; i < intervals; i++) {
    const atS = i * p.intervalSeconds;
    const result = plan({ policy: p, signals: at(atS, current), current, nowMs: atS * 1000, ...(state ? { state } : {}) });
    state = result.state;
    current = result.desired;
    out.push({ atS, replicas: current, plan: result });
  }
  return out;
}

export const series = (steps: Step[], pool: 'prefill' | 'decode'): number[] => steps.map((s) => s.replicas[pool]);
