/**
 * The scale subresource (autoscaling/v1 Scale): a view of an object's replica count. Reading maps
 * the object to `{spec.replicas, status.replicas, status.selector}`; writing sets the object's
 * spec replicas path (which bumps its generation like any spec change).
 */
import { badRequest } from './errors.ts';
import type { ResourceDef, ScaleSpec } from './resources.ts';
import { selectorString } from './selectors.ts';
import type { StoredObject } from './types.ts';

function getPath(obj: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((cur, k) => (cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[k] : undefined), obj);
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    if (cur[p] === null || typeof cur[p] !== 'object') cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]] = value;
}

function selectorOf(spec: ScaleSpec, obj: StoredObject): string {
  if (spec.labelSelectorPath === 'matchLabels') return selectorString(getPath(obj, 'spec.selector.matchLabels') as Record<string, string> | undefined);
  const v = getPath(obj, spec.labelSelectorPath);
  return typeof v === 'string' ? v : '';
}

export function toScale(def: ResourceDef & { scale: ScaleSpec }, obj: StoredObject): StoredObject {
  const m = obj.metadata;
  return {
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: (getPath(obj, def.scale.specReplicasPath) as number | undefined) ?? 0 },
    status: { replicas: (getPath(obj, def.scale.statusReplicasPath) as number | undefined) ?? 0, selector: selectorOf(def.scale, obj) },
  };
}

/** Applies a (possibly patched) Scale to the object; its metadata.resourceVersion is the precondition. */
export function fromScale(def: ResourceDef & { scale: ScaleSpec }, obj: StoredObject, scale: StoredObject): StoredObject {
  const replicas = getPath(scale, 'spec.replicas');
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    throw badRequest(`Scale spec.replicas must be a non-negative integer, got ${JSON.stringify(replicas)}`);
  }
  const next = structuredClone(obj);
  setPath(next, def.scale.specReplicasPath, replicas);
  if (scale.metadata?.resourceVersion) next.metadata.resourceVersion = scale.metadata.resourceVersion;
  return next;
}
