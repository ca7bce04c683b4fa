/**
 * One simulation end to end: a Source (what is sent, when) on a SimCluster (prefill and decode
 * workers, the real router, optionally the real planner), summarised with the load tester's own
 * metrics into the same LoadTestResult `duet loadtest` writes, plus a `simulation` section.
 *
 * `wall_s` keeps the load test's meaning (simulated time from the start to the last request's
 * end); `sim_runtime_s` is how long the simulator itself ran (real seconds).
 */
import { existsSync } from 'node:fs';
import type { ScalingPolicySpec } from '@duet/operator/planner';
import { BUILTIN_POLICIES } from '@duet/router';
import { DEFAULT_SLO } from '../loadtest.ts';
import { bucketSeconds, summarize, timeline, type Slo } from '../metrics.ts';
import type { LoadTestResult } from '../result.ts';
import type { RequestTiming } from '../run/timing.ts';
import { describeArrival } from '../workload/arrivals.ts';
import { Rng } from '../workload/rng.ts';
import { SimAutoscaler, type ReplicaPoint } from './autoscale.ts';
import { SimCluster, type ClusterStats } from './cluster.ts';
import type { CostModel } from './cost-model.ts';
import type { Source } from './source.ts';
import type { SimEngineConfig } from './worker.ts';

/** The simulated worker's engine settings; defaults are `duet start`'s (kv-cache-mib 128) and the worker's. */
export const SIM_ENGINE_DEFAULTS = { blockSize: 16, kvCacheMib: 128, maxBatchTokens: 512, maxRunningSeqs: 64, workerStartupS: 20 } as const;

/** Policies the simulator adds to the router's built-ins (files in ./policies). */
export const SIM_POLICIES = ['random'] as const;

/** A built-in name, a simulator policy name, or a RoutingPolicy file → what LivePolicy loads. */
export function resolveSimPolicy(nameOrPath: string): string {
  if ((SIM_POLICIES as readonly string[]).includes(nameOrPath)) return new URL(`./policies/${nameOrPath}.yaml`, import.meta.url).pathname;
  if ((BUILTIN_POLICIES as readonly string[]).includes(nameOrPath) || existsSync(nameOrPath)) return nameOrPath;
  throw new Error(`no routing policy "${nameOrPath}": give a file or one of ${[...BUILTIN_POLICIES, ...SIM_POLICIES].join(', ')}`);
}

export function engineConfig(cost: CostModel, o: { blockSize?: number; kvCacheMib?: number; numKvBlocks?: number; maxBatchTokens?: number; maxRunningSeqs?: number } = {}): SimEngineConfig {
  const d = SIM_ENGINE_DEFAULTS;
  const blockSize = o.blockSize ?? d.blockSize;
  const numBlocks = o.numKvBlocks ?? Math.max(1, Math.floor(((o.kvCacheMib ?? d.kvCacheMib) * 2 ** 20) / (blockSize * cost.model.kvBytesPerToken)));
  const cfg = { blockSize, numBlocks, maxBatchTokens: o.maxBatchTokens ?? d.maxBatchTokens, maxRunningSeqs: o.maxRunningSeqs ?? d.maxRunningSeqs };
  for (const [k, v] of Object.entries(cfg)) if (!Number.isInteger(v) || v < 1) throw new RangeError(`engine ${k} must be a positive integer, got ${v}`);
  return cfg;
}

export interface SimulateOptions {
  source: Source;
  cost: CostModel;
  engine: SimEngineConfig;
  prefill: number;
  decode: number;
  /** Built-in or simulator policy name, or a RoutingPolicy file (default: the router's default). */
  policy?: string;
  seed?: number;
  /** Run the planner with this ScalingPolicy; pools start at `prefill` / `decode`. */
  scaling?: ScalingPolicySpec | null;
  workerStartupMs?: number;
  slo?: Slo;
  /** Name of the cost model file (for the report). */
  costModelSource?: string;
}

export interface SimulationInfo {
  runtime_s: number;
  seed: number;
  policy: string;
  prefill_workers: number;
  decode_workers: number;
  engine: SimEngineConfig;
  cost_model: { source: string; model: string; step: CostModel['step']; transfer: CostModel['transfer'] };
  stats: ClusterStats;
  /** Requests that failed (refused or invalid): the planner's "dropped". */
  dropped: number;
  scaling: { interval_s: number; replicas: ReplicaPoint[] } | null;
}

export type SimulationResult = LoadTestResult & { sim_runtime_s: number; simulation: SimulationInfo };

export async function simulate(o: SimulateOptions): Promise<{ result: SimulationResult; timings: RequestTiming[] }> {
  const t0 = performance.now();
  const seed = o.seed ?? 0;
  const slo = o.slo ?? DEFAULT_SLO;
  const policy = o.policy ?? 'prefix-load-expert';
  const rng = new Rng(seed, 0x5e1ec7);
  const cluster = new SimCluster({
    cost: o.cost, engine: o.engine, prefill: o.prefill, decode: o.decode, policy: resolveSimPolicy(policy),
    random: () => rng.next(), workerStartupMs: o.workerStartupMs ?? SIM_ENGINE_DEFAULTS.workerStartupS * 1000,
  });
  const autoscaler = o.scaling ? new SimAutoscaler(o.scaling) : null;
  const concurrency = o.source.arrival.kind === 'closed' ? o.source.arrival.concurrency : null;
  const startedAt = new Date().toISOString();
  const timings = await cluster.run(o.source.requests, concurrency, autoscaler);
  const summary = summarize(timings, slo);
  const bucketS = bucketSeconds(summary.wall_s);
  const runtime = (performance.now() - t0) / 1000;
  const result: SimulationResult = {
    ...summary,
    target: { url: `sim://${o.prefill}p+${o.decode}d/${cluster.router.policy.current.name}`, model: o.cost.model.name },
    workload: o.source.workload,
    arrival: describeArrival(o.source.arrival),
    prefix_hit_rate_upper_bound: o.source.bound,
    block_size: o.engine.blockSize,
    started_at: startedAt,
    bucket_s: bucketS,
    timeline: timeline(timings, bucketS, summary.wall_s),
    sim_runtime_s: round3(runtime),
    simulation: {
      runtime_s: round3(runtime),
      seed,
      policy: cluster.router.policy.current.name,
      prefill_workers: o.prefill,
      decode_workers: o.decode,
      engine: o.engine,
      cost_model: { source: o.costModelSource ?? '', model: o.cost.model.name, step: o.cost.step, transfer: o.cost.transfer },
      stats: cluster.simStats(),
      dropped: summary.failed,
      scaling: autoscaler ? { interval_s: autoscaler.intervalMs / 1000, replicas: autoscaler.history } : null,
    },
  };
  return { result, timings };
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;
