/**
 * The control loop: every `policy.intervalSeconds`
 *
 *   1. signals  ← the collector's fleet (pushed heartbeats, LoadReports, SloReports)
 *   2. current  ← the actuator (running + starting − draining)
 *   3. plan     ← the pure planner (planner/), with the previous plan's state
 *   4. apply    → the actuator (grow now; drain, then remove)
 *
 * One tick at a time; a failing tick is logged and the loop goes on. The clock is injected, and
 * `autoTick: false` leaves the ticking to the caller (tests step it with fake time).
 */
import { metricName, type Logger, type Subjects } from '@duet/core';
import type { NatsConnection } from 'nats';
import { Counter, Gauge, type Registry } from 'prom-client';
import { POOLS, initialPlannerState, plan, type Plan, type PlannerSignals, type PlannerState, type PoolName, type ScalingPolicySpec } from '../planner/index.ts';
import type { Actuator, DrainDeps } from './actuator.ts';
import { SignalCollector } from './collector.ts';
import type { DrainResult } from './drain.ts';

export interface AutoscalerOptions {
  nc: NatsConnection;
  subjects: Subjects;
  logger: Logger;
  policy: ScalingPolicySpec;
  /** Builds the actuator once the collector exists (victim choice reads the fleet). */
  actuator: (deps: DrainDeps) => Actuator;
  /** The requester id in the workers' logs; default `autoscaler-<pid>`. */
  id?: string;
  now?: () => number;
  /** Tick on a timer (default) or only when `tick()` is called. */
  autoTick?: boolean;
  /** A worker without a heartbeat for this many intervals is gone (default 3). */
  missedBeats?: number;
  drainPollMs?: number;
  registry?: Registry;
  onPlan?: (plan: Plan, signals: PlannerSignals) => void;
  onDrained?: (pool: PoolName, result: DrainResult) => void;
}

export interface Autoscaler {
  readonly collector: SignalCollector;
  readonly actuator: Actuator;
  /** Runs one planning interval now (serialised with the timer's). */
  tick(): Promise<Plan>;
  /** The last plan, or null before the first tick. */
  lastPlan(): Plan | null;
  /** Takes effect from the next tick (a changed ScalingPolicy). */
  setPolicy(policy: ScalingPolicySpec): void;
  /**
   * Stops ticking and listening. By default drains already started are awaited first; with
   * `settle: false` they are abandoned (shutdown: the workers go with the platform anyway).
   */
  stop(opts?: { settle?: boolean }): Promise<void>;
}

function autoscalerMetrics(registry: Registry | undefined) {
  if (!registry) return null;
  const registers = [registry];
  return {
    desired: new Gauge({ name: metricName('autoscaler', 'desired', 'replicas'), help: 'Replicas the planner wants per pool', labelNames: ['pool'], registers }),
    current: new Gauge({ name: metricName('autoscaler', 'current', 'replicas'), help: 'Replicas counted as capacity per pool (not draining)', labelNames: ['pool'], registers }),
    drains: new Counter({ name: metricName('autoscaler', 'drains', 'total'), help: 'Scale-down drains by pool and outcome', labelNames: ['pool', 'outcome'], registers }),
  };
}

export async function startAutoscaler(o: AutoscalerOptions): Promise<Autoscaler> {
  const now = o.now ?? Date.now;
  let policy = o.policy;
  const id = o.id ?? `autoscaler-${process.pid}`;
  const metrics = autoscalerMetrics(o.registry);
  const collector = new SignalCollector({ nc: o.nc, subjects: o.subjects, logger: o.logger, now, missedBeats: o.missedBeats ?? 3, sloWindowMs: policy.intervalSeconds * 1000 });
  const actuator = o.actuator({
    nc: o.nc,
    subjects: o.subjects,
    logger: o.logger,
    requesterId: id,
    fleet: collector.fleet,
    drainTimeoutMs: () => policy.drainTimeoutSeconds * 1000,
    now,
    ...(o.drainPollMs ? { drainPollMs: o.drainPollMs } : {}),
    onDrained: (pool, r) => {
      metrics?.drains.inc({ pool, outcome: r.outcome });
      o.onDrained?.(pool, r);
    },
  });
  await collector.start();
  let state: PlannerState = initialPlannerState();
  let last: Plan | null = null;
  let chain: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;

  const once = async (): Promise<Plan> => {
    const signals = collector.fleet.signals(now());
    const current = await actuator.current();
    const p = plan({ policy, signals, current, nowMs: now(), state });
    state = p.state;
    last = p;
    const changed = POOLS.some((pool) => p.desired[pool] !== current[pool]);
    o.logger[changed ? 'info' : 'debug']({ current, desired: p.desired, reasons: { prefill: p.pools.prefill.reasons, decode: p.pools.decode.reasons } }, 'plan');
    for (const pool of POOLS) {
      metrics?.desired.set({ pool }, p.desired[pool]);
      metrics?.current.set({ pool }, current[pool]);
    }
    await actuator.apply(p.desired);
    o.onPlan?.(p, signals);
    return p;
  };
  const tick = (): Promise<Plan> => {
    const next = chain.then(once);
    chain = next.catch(() => undefined);
    return next;
  };
  const schedule = (): void => {
    if (stopped || o.autoTick === false) return;
    timer = setTimeout(() => {
      tick().catch((err: unknown) => o.logger.error({ err: String(err) }, 'autoscaler tick failed; next interval retries')).finally(schedule);
    }, policy.intervalSeconds * 1000);
  };
  schedule();
  o.logger.info({ id, policy, actuator: actuator.kind }, 'autoscaler started');
  return {
    collector,
    actuator,
    tick,
    lastPlan: () => last,
    setPolicy: (p) => {
      policy = p;
    },
    async stop(opts = {}) {
      stopped = true;
      if (timer) clearTimeout(timer);
      await chain;
      if (opts.settle ?? true) await actuator.settle();
      collector.stop();
    },
  };
}
