/**
 * A stand-in for the Deployment controller and kubelet: after a Deployment is created or its spec
 * changes, it writes the status a healthy rollout ends with (observedGeneration = generation, every
 * replica updated, ready and available). Deployments named in `stalled` never become ready (a crash
 * loop, an unschedulable pod), and `mode: 'manual'` turns the simulation off so a test writes
 * status itself.
 */
import { resourceId } from './resources.ts';
import type { Store } from './store.ts';
import type { StoreEvent, StoredObject } from './types.ts';

export type WorkloadMode = 'ready' | 'manual';

interface DeploymentLike extends StoredObject {
  spec?: { replicas?: number };
  status?: Record<string, unknown>;
}

export class WorkloadSimulator {
  mode: WorkloadMode;
  /** `namespace/name` of Deployments that stay unready. */
  readonly stalled = new Set<string>();
  private unsubscribe?: () => void;

  constructor(
    private readonly store: Store,
    mode: WorkloadMode,
  ) {
    this.mode = mode;
  }

  start(): void {
    this.unsubscribe = this.store.log.subscribe((e) => this.onEvent(e));
  }

  stop(): void {
    this.unsubscribe?.();
  }

  /** Re-evaluates every Deployment now (after `stalled` or `mode` changed). */
  refresh(): void {
    const def = this.store.table.lookup('apps', 'v1', 'deployments');
    if (!def || this.mode !== 'ready') return;
    for (const d of this.store.list(def, undefined).items as DeploymentLike[]) this.writeStatus(d, this.desiredStatus(d));
  }

  private onEvent(e: StoreEvent): void {
    if (this.mode !== 'ready' || e.type === 'DELETED' || e.resource !== 'apps/deployments') return;
    const d = e.object as DeploymentLike;
    const want = this.desiredStatus(d);
    if (JSON.stringify(d.status ?? {}) === JSON.stringify(want)) return;
    // After the write that triggered us has been answered, like a controller reacting to a watch.
    setImmediate(() => this.writeStatus(d, want));
  }

  desiredStatus(d: DeploymentLike): Record<string, unknown> {
    const replicas = d.spec?.replicas ?? 1;
    const key = `${d.metadata.namespace}/${d.metadata.name}`;
    const ready = this.stalled.has(key) ? 0 : replicas;
    return {
      observedGeneration: d.metadata.generation,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: ready,
      availableReplicas: ready,
      ...(ready < replicas ? { unavailableReplicas: replicas - ready } : {}),
      conditions: [
        { type: 'Available', status: ready >= replicas ? 'True' : 'False', reason: ready >= replicas ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable' },
        { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
      ],
    };
  }

  private writeStatus(d: DeploymentLike, status: Record<string, unknown>): void {
    const def = this.store.table.lookup('apps', 'v1', 'deployments');
    if (!def || resourceId(def) !== 'apps/deployments') return;
    try {
      this.store.patch(def, d.metadata.namespace ?? '', d.metadata.name ?? '', (cur) => {
        // Only if nothing newer happened meanwhile; otherwise the newer event re-triggers us.
        if (cur.metadata.resourceVersion !== d.metadata.resourceVersion) return cur;
        return { ...cur, status };
      }, 'status');
    } catch {
      // Deleted meanwhile: nothing to report.
    }
  }
}
