/**
 * What the planner sees: pushed load and SLO signals already aggregated per pool, and the pools'
 * current sizes. Plain numbers, so the planner runs the same under the operator, the local
 * launcher and the simulator (no NATS, no Kubernetes here).
 *
 * `null` means "no data in this window" (no worker reported, no request finished): the rule that
 * reads it is skipped rather than fed a zero, so silence never looks like an idle cluster.
 */
import type { PoolName } from './policy.ts';

export interface PrefillSignals {
  /** Prompt tokens admitted by prefill workers and not yet prefilled, summed over the pool. */
  queuedPromptTokens: number | null;
  /** p90 time to first token over requests that finished in the window, milliseconds. */
  ttftP90Ms: number | null;
}

export interface DecodeSignals {
  /** Mean KV-cache utilisation of the decode workers, a fraction in [0, 1]. */
  kvUtilization: number | null;
  /** Sequences held by decode workers (running + waiting), summed over the pool. */
  runningSequences: number | null;
  /** p90 time per output token over requests that finished in the window, milliseconds. */
  tpotP90Ms: number | null;
}

export interface PlannerSignals {
  prefill: PrefillSignals;
  decode: DecodeSignals;
}

export type PoolReplicas = Record<PoolName, number>;

/** No data for any rule: the planner holds every pool where it is. */
export function noSignals(): PlannerSignals {
  return {
    prefill: { queuedPromptTokens: null, ttftP90Ms: null },
    decode: { kvUtilization: null, runningSequences: null, tpotP90Ms: null },
  };
}
