/**
 * Adding and removing the operator's finalizer on a DuetService. Both are merge patches that
 * carry the resourceVersion the reconcile read, so they never overwrite someone else's change to
 * the finalizer list: a 409 goes back to the work queue and the next pass reads the new list.
 */
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { KubeClients } from '../kube/clients.ts';
import { RESOURCES } from '../kube/clients.ts';
import { FINALIZER } from './names.ts';
import type { DuetServiceObject } from './types.ts';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export const hasFinalizer = (o: DuetServiceObject): boolean => (o.metadata.finalizers ?? []).includes(FINALIZER);
export const isDeleting = (o: DuetServiceObject): boolean => o.metadata.deletionTimestamp !== undefined && o.metadata.deletionTimestamp !== null;

async function patchFinalizers(clients: KubeClients, o: DuetServiceObject, finalizers: string[]): Promise<DuetServiceObject> {
  const r = RESOURCES.duetService;
  const body = { metadata: { finalizers, resourceVersion: o.metadata.resourceVersion } };
  return (await clients.custom.patchNamespacedCustomObject(
    { group: r.group, version: r.version, plural: r.plural, namespace: o.metadata.namespace ?? '', name: o.metadata.name ?? '', body },
    mergePatch,
  )) as DuetServiceObject;
}

export function addFinalizer(clients: KubeClients, o: DuetServiceObject): Promise<DuetServiceObject> {
  return patchFinalizers(clients, o, [...(o.metadata.finalizers ?? []), FINALIZER]);
}

export function removeFinalizer(clients: KubeClients, o: DuetServiceObject): Promise<DuetServiceObject> {
  return patchFinalizers(clients, o, (o.metadata.finalizers ?? []).filter((f) => f !== FINALIZER));
}
