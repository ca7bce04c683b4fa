/**
 * URL → request info, as the API server routes it:
 *
 *   /api/v1[/namespaces/{ns}]/{plural}[/{name}[/{sub}]]
 *   /apis/{group}/{version}[/namespaces/{ns}]/{plural}[/{name}[/{sub}]]
 *
 * `/api/v1/namespaces/{name}` is the Namespace object itself (three segments or fewer after the
 * version never name a namespaced collection). Discovery paths (`/api`, `/apis`, `/api/v1`,
 * `/apis/{g}/{v}`) come back as `{ discovery }`.
 */
import { ApiError } from './errors.ts';
import type { ResourceDef, ResourceTable } from './resources.ts';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

export interface RequestInfo {
  verb: Verb;
  def: ResourceDef;
  /** '' for cluster-scoped resources and all-namespace lists/watches. */
  namespace: string;
  allNamespaces: boolean;
  name?: string;
  subresource?: 'status' | 'scale';
  query: URLSearchParams;
  /** The bearer token of the request (KubeDouble.kubeConfig's `user`): who asked. */
  user?: string;
}

export type Route = { discovery: { group?: string; version?: string } } | { resource: RequestInfo };

function verbOf(method: string, hasName: boolean, query: URLSearchParams): Verb {
  const watch = query.get('watch') === 'true' || query.get('watch') === '1';
  switch (method) {
    case 'GET':
      return hasName ? 'get' : watch ? 'watch' : 'list';
    case 'POST':
      if (!hasName) return 'create';
      break;
    case 'PUT':
      if (hasName) return 'update';
      break;
    case 'PATCH':
      if (hasName) return 'patch';
      break;
    case 'DELETE':
      if (hasName) return 'delete';
      break;
  }
  throw new ApiError(405, 'MethodNotAllowed', `${method} is not supported on this path by the API server double`);
}

export function route(table: ResourceTable, method: string, url: URL): Route {
  const seg = url.pathname.split('/').filter((s) => s !== '');
  let group: string;
  let version: string;
  let rest: string[];
  if (seg[0] === 'api') {
    if (seg.length === 1) return { discovery: {} };
    [group, version, rest] = ['', seg[1], seg.slice(2)];
  } else if (seg[0] === 'apis') {
    if (seg.length === 1) return { discovery: { group: '' } };
    if (seg.length === 2) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (group ${seg[1]})`);
    [group, version, rest] = [seg[1], seg[2], seg.slice(3)];
  } else throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
  if (rest.length === 0) return { discovery: { group, version } };

  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, sub, ...extra] = rest;
  const def = table.lookup(group, version, plural);
  if (!def || extra.length > 0) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
  if (sub !== undefined && sub !== 'status' && sub !== 'scale') throw new ApiError(404, 'NotFound', `subresource "${sub}" is not served by the double`);
  if (sub === 'scale' && !def.scale) throw new ApiError(404, 'NotFound', `${def.plural} has no scale subresource`);
  if (sub === 'status' && !def.statusSubresource) throw new ApiError(404, 'NotFound', `${def.plural} has no status subresource`);
  if (def.namespaced && namespace === '' && name !== undefined) throw new ApiError(404, 'NotFound', `${def.plural} is namespaced: the path needs /namespaces/{ns}`);
  if (!def.namespaced && namespace !== '') throw new ApiError(404, 'NotFound', `${def.plural} is cluster-scoped`);
  const verb = verbOf(method, name !== undefined, url.searchParams);
  if (verb === 'create' && def.namespaced && namespace === '') throw new ApiError(405, 'MethodNotAllowed', `create ${def.plural} needs a namespace in the path`);
  return {
    resource: {
      verb,
      def,
      namespace,
      allNamespaces: def.namespaced && namespace === '',
      name,
      subresource: sub,
      query: url.searchParams,
    },
  };
}
