/**
 * The seam between the reconciler and a pool autoscaler. The reconciler stays the only writer of
 * the worker Deployments: for a DuetService with a ScalingPolicy it asks the autoscaler how many
 * replicas each pool should have (clamped to the DuetService's min/max), and tells it, after every
 * successful reconcile, what it is sizing; the autoscaler re-enqueues the service (`requeue`)
 * when its plan changes, and is released when the service goes or drops its ScalingPolicy.
 *
 * Without an autoscaler, a pool under a ScalingPolicy keeps its live replica count (its initial
 * count is `spec.<pool>.replicas`), so a manual `kubectl scale` is respected.
 */
import type { ScalingPolicySpec } from '../planner/index.ts';
import type { DuetServiceSpec } from '../crds/index.ts';
import type { PoolComponent } from './names.ts';

export interface AutoscaleTarget {
  /** `namespace/name` of the DuetService. */
  key: string;
  namespace: string;
  name: string;
  uid: string;
  natsUrl: string;
  subjectPrefix: string;
  spec: DuetServiceSpec;
  policy: ScalingPolicySpec;
  /** Worker Deployment names and live replica counts per pool. */
  pools: Record<PoolComponent, { deployment: string; replicas: number; readyReplicas: number }>;
  /** Label selector of each pool's pods (`duet.dev/pool=...,app.kubernetes.io/instance=...`). */
  podSelectors: Record<PoolComponent, string>;
  /** Asks the controller to reconcile this service again (after a new plan). */
  requeue(): void;
}

export interface PoolAutoscaler {
  /** Replicas the pool should have now; undefined = no opinion yet (keep the live count). */
  desiredReplicas(key: string, pool: PoolComponent): number | undefined;
  /** Starts or refreshes sizing of this service. Idempotent; called after each successful reconcile. */
  ensure(target: AutoscaleTarget): void;
  /** Stops sizing it (the service is being deleted or has no ScalingPolicy any more). */
  release(key: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Replicas for a pool: the fixed spec, or under a ScalingPolicy the autoscaler's number (clamped to
 * the DuetService's [min, max]); with no autoscaler opinion, `spec.replicas` (clamped) is what a new
 * Deployment starts with — an existing one keeps its live count (the reconciler never patches it).
 */
export function resolvePoolReplicas(opts: { pool: { replicas: number; minReplicas: number; maxReplicas: number }; autoscaled: boolean; fromAutoscaler?: number }): number {
  const { pool } = opts;
  if (!opts.autoscaled) return pool.replicas;
  const want = opts.fromAutoscaler ?? pool.replicas;
  return Math.min(pool.maxReplicas, Math.max(pool.minReplicas, want));
}
