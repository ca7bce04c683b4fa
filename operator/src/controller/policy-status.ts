/**
 * The reconcile of a RoutingPolicy or ScalingPolicy object itself: its status says whether its
 * spec is valid for its consumer (condition Accepted, with the path and message of the first bad
 * field otherwise) and which generation that verdict is about. Written only when it changed.
 */
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { RESOURCES, type KubeClients } from '../kube/clients.ts';
import type { Clock } from '../kube/clock.ts';
import { canonicalJson } from './merge.ts';
import { policyAcceptance } from './policies.ts';
import type { PolicyObject } from './types.ts';

export type PolicyKind = 'RoutingPolicy' | 'ScalingPolicy';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

interface PolicyCondition {
  type: 'Accepted';
  status: 'True' | 'False';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration: number;
}

export function policyStatus(kind: PolicyKind, obj: PolicyObject, now: string): { observedGeneration: number; conditions: PolicyCondition[] } {
  const generation = obj.metadata.generation ?? 0;
  const verdict = policyAcceptance(kind, obj);
  const status = verdict.accepted ? 'True' : 'False';
  const prev = (obj.status?.conditions as PolicyCondition[] | undefined)?.find((c) => c.type === 'Accepted');
  const lastTransitionTime = prev?.status === status ? prev.lastTransitionTime : now;
  return { observedGeneration: generation, conditions: [{ type: 'Accepted', status, reason: verdict.reason, message: verdict.message, lastTransitionTime, observedGeneration: generation }] };
}

/** Returns whether it wrote. */
export async function reconcilePolicyStatus(clients: KubeClients, clock: Clock, kind: PolicyKind, obj: PolicyObject): Promise<boolean> {
  const now = new Date(clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const next = policyStatus(kind, obj, now);
  if (canonicalJson(obj.status ?? {}) === canonicalJson(next)) return false;
  const r = kind === 'RoutingPolicy' ? RESOURCES.routingPolicy : RESOURCES.scalingPolicy;
  await clients.custom.patchNamespacedCustomObjectStatus(
    { group: r.group, version: r.version, plural: r.plural, namespace: obj.metadata.namespace ?? '', name: obj.metadata.name ?? '', body: { status: next } },
    mergePatch,
  );
  return true;
}
