/**
 * KubeActuator: the planner's hands in a cluster. Each pool is a Deployment whose pods are workers
 * (worker id = pod name, set from metadata.name by the operator's pod template).
 *
 *   grow        patch the Deployment's scale subresource: spec.replicas += n
 *   shrink      1. pick the victim pod (least work by its LoadReports)
 *               2. annotate it controller.kubernetes.io/pod-deletion-cost = MIN, so the
 *                  ReplicaSet controller deletes exactly this pod when the count drops
 *               3. drain it over NATS (it finishes every request it holds)
 *               4. patch the scale subresource: spec.replicas −= 1
 *
 * Scale patches are merge patches carrying the Scale's resourceVersion, so a concurrent writer
 * makes them fail with 409 and they are retried on a fresh read; all writes of one actuator are
 * serialised. `onScaled` tells the controller (which writes the same count into the Deployment on
 * its next reconcile) that the target moved; `target(pool)` is that count.
 */
import { PatchStrategy, setHeaderOptions, type AppsV1Api, type CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import type { PoolName } from '../planner/index.ts';
import { DrainingActuator, type DrainDeps } from './actuator.ts';
import type { DrainResult } from './drain.ts';

export const POD_DELETION_COST_ANNOTATION = 'controller.kubernetes.io/pod-deletion-cost';
/** The lowest cost (int32 minimum): deleted before any other pod of the ReplicaSet. */
export const DRAINED_POD_DELETION_COST = '-2147483648';

export interface KubeActuatorOptions {
  apps: AppsV1Api;
  core: CoreV1Api;
  namespace: string;
  /** Deployment name per pool. */
  deployments: Record<PoolName, string>;
  /** Label selector of each pool's pods. */
  podSelectors: Record<PoolName, string>;
  /** The scale target of a pool changed (the controller re-reconciles). */
  onScaled?: (pool: PoolName, replicas: number) => void;
  /** Attempts of a scale write on 409 Conflict. */
  conflictRetries?: number;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

function isConflict(err: unknown): boolean {
  return (err as { code?: number } | null)?.code === 409;
}

function removable(pod: V1Pod): boolean {
  return !pod.metadata?.deletionTimestamp && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

export class KubeActuator extends DrainingActuator {
  readonly kind = 'kubernetes';
  private readonly targets = new Map<PoolName, number>();
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly k: KubeActuatorOptions,
    deps: DrainDeps,
  ) {
    super(deps);
  }

  /** The replica count this actuator last wrote for the pool (undefined before its first write). */
  target(pool: PoolName): number | undefined {
    return this.targets.get(pool);
  }

  protected async replicas(pool: PoolName): Promise<number> {
    const scale = await this.k.apps.readNamespacedDeploymentScale({ name: this.k.deployments[pool], namespace: this.k.namespace });
    return scale.spec?.replicas ?? 0;
  }

  protected async candidates(pool: PoolName): Promise<string[]> {
    const pods = await this.k.core.listNamespacedPod({ namespace: this.k.namespace, labelSelector: this.k.podSelectors[pool] });
    return pods.items.filter(removable).map((p) => p.metadata?.name ?? '').filter((n) => n !== '');
  }

  protected grow(pool: PoolName, by: number): Promise<void> {
    return this.scaleBy(pool, by);
  }

  protected override async beforeDrain(_pool: PoolName, workerId: string): Promise<void> {
    await this.k.core.patchNamespacedPod(
      { name: workerId, namespace: this.k.namespace, body: { metadata: { annotations: { [POD_DELETION_COST_ANNOTATION]: DRAINED_POD_DELETION_COST } } } },
      mergePatch,
    );
  }

  protected remove(pool: PoolName, _workerId: string, _drain: DrainResult): Promise<void> {
    return this.scaleBy(pool, -1);
  }

  /** Read-modify-write of the scale subresource, serialised, retried on 409. */
  private scaleBy(pool: PoolName, delta: number): Promise<void> {
    const run = async (): Promise<void> => {
      const attempts = this.k.conflictRetries ?? 5;
      for (let i = 1; ; i++) {
        const name = this.k.deployments[pool];
        const scale = await this.k.apps.readNamespacedDeploymentScale({ name, namespace: this.k.namespace });
        const replicas = Math.max(0, (scale.spec?.replicas ?? 0) + delta);
        try {
          await this.k.apps.patchNamespacedDeploymentScale(
            { name, namespace: this.k.namespace, body: { metadata: { resourceVersion: scale.metadata?.resourceVersion }, spec: { replicas } } },
            mergePatch,
          );
          this.targets.set(pool, replicas);
          this.deps.logger.info({ pool, deployment: name, replicas }, 'scaled');
          this.k.onScaled?.(pool, replicas);
          return;
        } catch (err) {
          if (!isConflict(err) || i >= attempts) throw err;
        }
      }
    };
    const next = this.writes.then(run);
    this.writes = next.catch(() => undefined);
    return next;
  }
}
