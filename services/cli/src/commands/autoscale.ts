/**
 * `duet start --autoscale [--scaling-policy FILE]`: the operator's planner and drain-before-removal
 * on this machine. The policy file is a ScalingPolicy (YAML or JSON; either the whole object with
 * `spec`, or the spec alone); without one, the default policy. The initial pool sizes are the
 * requested ones moved inside the policy's bounds and ratio. Loaded only when --autoscale is given
 * (it imports the operator package).
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Subjects, connectNats, createLogger } from '@duet/core';
import { LocalProcessActuator, startAutoscaler, type Autoscaler, type Plan, type ScalingPolicySpec } from '@duet/operator';
import { projectToRatio } from '@duet/operator/planner';
import type { LaunchOptions } from '../launcher/plan.ts';
import type { Platform } from '../launcher/platform.ts';
import { WorkerProcessPool } from '../launcher/worker-pool.ts';
export { loadScalingPolicy } from './scaling-policy.ts';

/** The requested pool sizes moved inside the policy's min/max bounds and prefill:decode ratio. */
export function initialPools(policy: ScalingPolicySpec, requested: { prefill: number; decode: number }): { prefill: number; decode: number } {
  const clamp = (n: number, p: { minReplicas: number; maxReplicas: number }): number => Math.min(p.maxReplicas, Math.max(p.minReplicas, n));
  return projectToRatio(policy, { prefill: clamp(requested.prefill, policy.prefill), decode: clamp(requested.decode, policy.decode) });
}

export interface LocalAutoscaler {
  autoscaler: Autoscaler;
  /** The first worker process that exits without being drained first. */
  died: WorkerProcessPool['died'];
  stop(): Promise<void>;
}

/** One console line per pool that changes size, with the reasons of the plan. */
export function describeChanges(p: Plan): string[] {
  return (['prefill', 'decode'] as const)
    .filter((pool) => p.pools[pool].desired !== p.pools[pool].current)
    .map((pool) => {
      const d = p.pools[pool];
      return `duet: autoscale ${pool} ${d.current} → ${d.desired}: ${d.reasons.map((r) => r.message).join('; ')}`;
    });
}

/**
 * Starts the control loop over the platform's worker processes (its own NATS connection). Its
 * JSON log goes to <logDir>/autoscaler.log; each resize and drain is also printed.
 */
export async function startLocalAutoscaler(platform: Platform, launch: LaunchOptions, policy: ScalingPolicySpec): Promise<LocalAutoscaler> {
  const pool = new WorkerProcessPool(launch, platform.logDir, platform.children);
  const nc = await connectNats({ url: platform.natsUrl, name: 'duet-autoscaler' });
  const autoscaler = await startAutoscaler({
    nc,
    subjects: new Subjects(),
    logger: createLogger('autoscaler', { destination: createWriteStream(join(platform.logDir, 'autoscaler.log'), { flags: 'a' }) }),
    policy,
    id: 'local-autoscaler',
    actuator: (deps) => new LocalProcessActuator(pool, deps),
    onPlan: (p) => describeChanges(p).forEach((line) => console.log(line)),
    onDrained: (poolName, r) => console.log(`duet: autoscale ${poolName} worker ${r.workerId} removed after drain (${r.outcome}, ${r.inflightAtStart} in flight when asked, ${r.waitedMs} ms)`),
  });
  return {
    autoscaler,
    died: pool.died,
    async stop() {
      await autoscaler.stop({ settle: false });
      await nc.close();
    },
  };
}
