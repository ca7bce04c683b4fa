/**
 * The planner inside the simulator: every `policy.intervalSeconds` of simulated time, the real pure
 * planner (`@duet/operator/planner`) gets the signals the operator's autoscaler would have
 * collected, and its plan is carried out by the simulated actuator (cluster.scaleTo: grow at once,
 * new workers READY after the startup time; shrink by draining the least loaded — no request is
 * ever killed).
 *
 * Signals, with the formulas of operator/src/autoscaler/fleet.ts over the simulated workers'
 * LoadReport fields (READY workers; a starting one has not reported yet):
 *
 *   prefill.queuedPromptTokens = Σ not-yet-computed prompt tokens of waiting and running sequences
 *   decode.kvUtilization       = mean of used / total KV blocks
 *   decode.runningSequences    = Σ (running + waiting)
 *   ttftP90Ms, tpotP90Ms       = nearest-rank p90 over requests that finished in the last interval
 *                                (the gateway's SloReport); TPOT over requests with ≥ 2 tokens
 *   null where nothing reported, so the planner skips that rule.
 */
import { initialPlannerState, plan, type PlannerSignals, type PlannerState, type ScalingPolicySpec } from '@duet/operator/planner';
import type { FinishedSample, SimCluster, Ticker } from './cluster.ts';

export interface ReplicaPoint {
  t_s: number;
  /** Counted capacity after applying the plan (ready + starting, not draining). */
  prefill: number;
  decode: number;
  /** READY workers (taking work) after applying the plan. */
  ready_prefill: number;
  ready_decode: number;
  desired_prefill: number;
  desired_decode: number;
  ttft_p90_ms: number | null;
  tpot_p90_ms: number | null;
}

/** Nearest-rank percentile (p in [0,1]) of an ascending array, as the gateway's SloWindow. */
function nearestRank(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

export class SimAutoscaler implements Ticker {
  readonly intervalMs: number;
  readonly history: ReplicaPoint[] = [];
  private state: PlannerState = initialPlannerState();
  /** Index of the first finished sample not yet inside a past window (samples come in time order). */
  private windowStart = 0;

  constructor(private readonly policy: ScalingPolicySpec) {
    this.intervalMs = policy.intervalSeconds * 1000;
  }

  tick(cluster: SimCluster, nowMs: number): void {
    const signals = this.signals(cluster, nowMs);
    const current = { prefill: cluster.counted('prefill').length, decode: cluster.counted('decode').length };
    const p = plan({ policy: this.policy, signals, current, nowMs, state: this.state });
    this.state = p.state;
    cluster.scaleTo('prefill', p.desired.prefill);
    cluster.scaleTo('decode', p.desired.decode);
    const ready = (pool: 'prefill' | 'decode'): number => cluster.counted(pool).filter((w) => w.state === 'ready').length;
    this.history.push({
      t_s: nowMs / 1000,
      prefill: cluster.counted('prefill').length,
      decode: cluster.counted('decode').length,
      ready_prefill: ready('prefill'),
      ready_decode: ready('decode'),
      desired_prefill: p.desired.prefill,
      desired_decode: p.desired.decode,
      ttft_p90_ms: signals.prefill.ttftP90Ms,
      tpot_p90_ms: signals.decode.tpotP90Ms,
    });
  }

  signals(cluster: SimCluster, nowMs: number): PlannerSignals {
    const readyIn = (pool: 'prefill' | 'decode') => cluster.counted(pool).filter((w) => w.state === 'ready');
    const prefill = readyIn('prefill');
    const decode = readyIn('decode');
    const window = this.window(cluster.finishedSamples, nowMs);
    const ttfts = window.map((s) => s.ttftMs).sort((a, b) => a - b);
    const tpots = window.flatMap((s) => (s.tpotMs !== null && s.tpotMs > 0 ? [s.tpotMs] : [])).sort((a, b) => a - b);
    return {
      prefill: {
        queuedPromptTokens: prefill.length ? prefill.reduce((a, w) => a + w.pendingPromptTokens(), 0) : null,
        ttftP90Ms: ttfts.length ? nearestRank(ttfts, 0.9) : null,
      },
      decode: {
        kvUtilization: decode.length ? decode.reduce((a, w) => a + w.cache.usedBlocks / w.cache.numBlocks, 0) / decode.length : null,
        runningSequences: decode.length ? decode.reduce((a, w) => a + w.numRunning + w.numWaiting, 0) : null,
        tpotP90Ms: tpots.length ? nearestRank(tpots, 0.9) : null,
      },
    };
  }

  /** Samples that finished in (now − interval, now]. */
  private window(samples: readonly FinishedSample[], nowMs: number): FinishedSample[] {
    while (this.windowStart < samples.length && samples[this.windowStart].atMs <= nowMs - this.intervalMs) this.windowStart++;
    const out: FinishedSample[] = [];
    for (let i = this.windowStart; i < samples.length && samples[i].atMs <= nowMs; i++) out.push(samples[i]);
    return out;
  }
}
