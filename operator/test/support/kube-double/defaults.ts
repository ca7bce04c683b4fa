/**
 * The few server-side defaults and immutability rules of built-in kinds that an operator trips
 * over on a real cluster, so the double catches the same mistakes: a Deployment without
 * spec.replicas gets 1, its spec.selector cannot change; a Service gets a clusterIP that an update
 * cannot change (an update that omits it keeps it).
 */
import { invalid } from './errors.ts';
import { stableJson } from './json.ts';
import type { ResourceDef } from './resources.ts';
import type { StoredObject } from './types.ts';

type Spec = Record<string, unknown> | undefined;

let nextIp = 1;
const allocateClusterIp = (): string => `10.96.${Math.floor(nextIp / 250)}.${(nextIp++ % 250) + 1}`;

export function applyDefaults(def: ResourceDef, obj: StoredObject, cur: StoredObject | undefined): void {
  const spec = obj.spec as Spec;
  if (def.group === 'apps' && (def.kind === 'Deployment' || def.kind === 'StatefulSet') && spec && spec.replicas === undefined) spec.replicas = 1;
  if (def.group === '' && def.kind === 'Service' && spec && spec.clusterIP === undefined) {
    const prev = (cur?.spec as Spec)?.clusterIP;
    spec.clusterIP = prev ?? allocateClusterIp();
  }
}

export function checkImmutable(def: ResourceDef, cur: StoredObject, next: StoredObject): void {
  const name = cur.metadata.name ?? '';
  const a = cur.spec as Spec;
  const b = next.spec as Spec;
  if (def.group === 'apps' && def.kind === 'Deployment' && stableJson(a?.selector) !== stableJson(b?.selector)) {
    throw invalid(def.kind, name, 'spec.selector: Invalid value: field is immutable');
  }
  if (def.group === '' && def.kind === 'Service' && a?.clusterIP !== b?.clusterIP) {
    throw invalid(def.kind, name, 'spec.clusterIP: Invalid value: field is immutable');
  }
}
