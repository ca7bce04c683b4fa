/**
 * Discovery documents (`/api`, `/apis`, `/api/v1`, `/apis/{g}/{v}`) built from the resource table,
 * so clients that resolve kinds to paths (KubernetesObjectApi) work against the double.
 */
import { ApiError } from './errors.ts';
import { groupVersion, type ResourceTable } from './resources.ts';

const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

export function discovery(table: ResourceTable, at: { group?: string; version?: string }): Record<string, unknown> {
  if (at.group === undefined) return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
  if (at.version === undefined) {
    const groups = new Map<string, string[]>();
    for (const d of table.all()) if (d.group !== '') groups.set(d.group, [...new Set([...(groups.get(d.group) ?? []), d.version])]);
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [...groups].map(([name, versions]) => ({
        name,
        versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
        preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
      })),
    };
  }
  const gv = groupVersion({ group: at.group, version: at.version });
  const defs = table.all().filter((d) => groupVersion(d) === gv);
  if (defs.length === 0) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${gv})`);
  const resources = defs.flatMap((d) => [
    { name: d.plural, singularName: d.singular, namespaced: d.namespaced, kind: d.kind, verbs: VERBS },
    ...(d.statusSubresource ? [{ name: `${d.plural}/status`, singularName: '', namespaced: d.namespaced, kind: d.kind, verbs: ['get', 'patch', 'update'] }] : []),
    ...(d.scale ? [{ name: `${d.plural}/scale`, singularName: '', namespaced: d.namespaced, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] }] : []),
  ]);
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv, resources };
}
