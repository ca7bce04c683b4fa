/** Builds what the autoscaler is told about one DuetService after a successful reconcile. */
import type { DuetServiceSpec } from '../crds/index.ts';
import type { ScalingPolicySpec } from '../planner/index.ts';
import type { AutoscaleTarget } from './autoscale.ts';
import { LABELS, POOL_COMPONENTS, childName, type Component, type PoolComponent } from './names.ts';
import type { DeploymentView, DuetServiceObject } from './types.ts';

export function autoscaleTarget(a: {
  key: string;
  svc: DuetServiceObject;
  spec: DuetServiceSpec;
  policy: ScalingPolicySpec;
  subjectPrefix: string;
  live: Partial<Record<Component, DeploymentView>>;
  requeue: () => void;
}): AutoscaleTarget {
  const name = a.svc.metadata.name ?? '';
  const namespace = a.svc.metadata.namespace ?? '';
  const pool = (p: PoolComponent) => ({
    deployment: childName(name, p),
    replicas: a.live[p]?.spec?.replicas ?? 0,
    readyReplicas: a.live[p]?.status?.readyReplicas ?? 0,
  });
  const selector = (p: PoolComponent) => `${LABELS.instance}=${name},${LABELS.pool}=${p}`;
  return {
    key: a.key,
    namespace,
    name,
    uid: a.svc.metadata.uid ?? '',
    natsUrl: a.spec.nats.url,
    subjectPrefix: a.subjectPrefix,
    spec: a.spec,
    policy: a.policy,
    pools: Object.fromEntries(POOL_COMPONENTS.map((p) => [p, pool(p)])) as AutoscaleTarget['pools'],
    podSelectors: Object.fromEntries(POOL_COMPONENTS.map((p) => [p, selector(p)])) as AutoscaleTarget['podSelectors'],
    requeue: a.requeue,
  };
}
