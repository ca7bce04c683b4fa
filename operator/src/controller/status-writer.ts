/**
 * Writing a DuetService's status through the status subresource, only when it differs from what
 * the object already says (so a reconcile of an unchanged world writes nothing, and the status
 * write's own watch event does not start an endless loop), and the Events that mark its notable
 * transitions: becoming Ready, stopping being Ready, and becoming Degraded.
 */
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { DuetServiceStatus } from '../crds/index.ts';
import { RESOURCES, type KubeClients } from '../kube/clients.ts';
import type { EventRecorder } from '../kube/events.ts';
import { canonicalJson, threeWayMergePatch } from './merge.ts';
import { conditionOf } from './status.ts';
import type { DuetServiceObject } from './types.ts';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Returns whether it wrote. */
export async function writeStatus(clients: KubeClients, svc: DuetServiceObject, status: DuetServiceStatus): Promise<boolean> {
  if (canonicalJson(svc.status ?? {}) === canonicalJson(status)) return false;
  const r = RESOURCES.duetService;
  const body = { status: threeWayMergePatch(svc.status ?? {}, status) };
  await clients.custom.patchNamespacedCustomObjectStatus(
    { group: r.group, version: r.version, plural: r.plural, namespace: svc.metadata.namespace ?? '', name: svc.metadata.name ?? '', body },
    mergePatch,
  );
  return true;
}

export async function reportTransitions(recorder: EventRecorder, svc: DuetServiceObject, before: DuetServiceStatus | undefined, after: DuetServiceStatus): Promise<void> {
  const was = conditionOf(before, 'Ready');
  const now = conditionOf(after, 'Ready');
  if (now?.status === 'True' && was?.status !== 'True') await recorder.record(svc, 'Normal', 'Ready', now.message);
  if (now?.status === 'False' && was?.status === 'True') await recorder.record(svc, 'Warning', 'NotReady', `${now.reason}: ${now.message}`);
  const deg = conditionOf(after, 'Degraded');
  const wasDeg = conditionOf(before, 'Degraded');
  if (deg?.status === 'True' && (wasDeg?.status !== 'True' || wasDeg.reason !== deg.reason)) await recorder.record(svc, 'Warning', deg.reason, deg.message);
}
