/**
 * The HTTP face of the double: parses the request, lets the test's interceptors see it (to count
 * writes, inject a competing write, or fail a call with a chosen error), runs it against the Store,
 * and answers with the object, a list, a watch stream or a Status error.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, badRequest } from './errors.ts';
import { discovery } from './discovery.ts';
import { PatchError, jsonPatch, mergePatch } from './patch.ts';
import { groupVersion, type ResourceDef, type ScaleSpec } from './resources.ts';
import { route, type RequestInfo } from './routes.ts';
import { fromScale, toScale } from './scale.ts';
import { SelectorError } from './selectors.ts';
import type { Store } from './store.ts';
import type { StoredObject } from './types.ts';
import { serveWatch } from './watch.ts';

/**
 * Sees every resource request before it runs; throwing (or rejecting with) an ApiError answers with
 * it, and a returned promise holds the request until it settles (a test can park a watch).
 */
export type Interceptor = (info: RequestInfo, body: unknown) => void | Promise<void>;

/** Validates a custom resource on create/update/patch; returns an error message or undefined. */
export type Validator = (def: ResourceDef, obj: StoredObject) => string | undefined;

export interface ServerContext {
  store: Store;
  interceptors: Interceptor[];
  validators: Validator[];
  openWatches: Set<ServerResponse>;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest('the request body is not valid JSON');
  }
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function patchFn(contentType: string, body: unknown): (cur: StoredObject) => StoredObject {
  const type = contentType.split(';')[0].trim();
  if (type === 'application/merge-patch+json' || type === 'application/strategic-merge-patch+json') return (cur) => mergePatch(cur, body) as StoredObject;
  if (type === 'application/json-patch+json') return (cur) => jsonPatch(cur, body) as StoredObject;
  throw new ApiError(415, 'UnsupportedMediaType', `the double does not support patch type "${type}" (server-side apply is not implemented)`);
}

function validate(ctx: ServerContext, def: ResourceDef, obj: StoredObject): StoredObject {
  if (obj === null || typeof obj !== 'object' || typeof obj.metadata !== 'object') return obj;
  for (const v of ctx.validators) {
    const msg = v(def, obj);
    if (msg) throw new ApiError(422, 'Invalid', `${def.kind}.${def.group} "${obj.metadata.name}" is invalid: ${msg}`, { name: obj.metadata.name, group: def.group, kind: def.kind });
  }
  return obj;
}

function listBody(info: RequestInfo, ctx: ServerContext): Record<string, unknown> {
  const { items, resourceVersion } = ctx.store.list(info.def, info.allNamespaces ? undefined : info.namespace, {
    labelSelector: info.query.get('labelSelector'),
    fieldSelector: info.query.get('fieldSelector'),
  });
  return { apiVersion: groupVersion(info.def), kind: `${info.def.kind}List`, metadata: { resourceVersion }, items };
}

function runScale(info: RequestInfo, ctx: ServerContext, contentType: string, body: unknown): StoredObject {
  const def = info.def as ResourceDef & { scale: ScaleSpec };
  const { store } = ctx;
  const name = info.name ?? '';
  if (info.verb === 'get') return toScale(def, store.get(def, info.namespace, name));
  const nextScale = (cur: StoredObject): StoredObject =>
    info.verb === 'update' ? (body as StoredObject) : patchFn(contentType, body)(toScale(def, cur));
  const out = store.patch(def, info.namespace, name, (cur) => fromScale(def, cur, nextScale(cur)));
  return toScale(def, out);
}

function run(info: RequestInfo, ctx: ServerContext, contentType: string, body: unknown): { code: number; body: unknown } {
  const { store } = ctx;
  const { def, namespace } = info;
  const name = info.name ?? '';
  if (info.query.get('dryRun')) throw badRequest('dryRun is not supported by the API server double');
  if (info.subresource === 'scale') return { code: 200, body: runScale(info, ctx, contentType, body) };
  const status = info.subresource === 'status' ? 'status' : undefined;
  switch (info.verb) {
    case 'list':
      return { code: 200, body: listBody(info, ctx) };
    case 'get':
      return { code: 200, body: store.get(def, namespace, name) };
    case 'create':
      validate(ctx, def, body as StoredObject);
      return { code: 201, body: store.create(def, namespace, body as StoredObject) };
    case 'update':
      validate(ctx, def, body as StoredObject);
      return { code: 200, body: store.update(def, namespace, name, body as StoredObject, status) };
    case 'patch': {
      const apply = patchFn(contentType, body);
      return { code: 200, body: store.patch(def, namespace, name, (cur) => validate(ctx, def, apply(cur)), status) };
    }
    case 'delete': {
      const opts = (body ?? {}) as { preconditions?: { uid?: string; resourceVersion?: string } };
      const { object, gone } = store.delete(def, namespace, name, opts.preconditions);
      const done = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: def.group, kind: def.plural, uid: object.metadata.uid } };
      return { code: 200, body: gone && def.group === '' ? done : object };
    }
    default:
      throw badRequest(`verb ${info.verb} on a subresource is not supported`);
  }
}

export async function handle(ctx: ServerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const url = new URL(req.url ?? '/', 'http://double');
    const r = route(ctx.store.table, req.method ?? 'GET', url);
    if ('discovery' in r) return send(res, 200, discovery(ctx.store.table, r.discovery));
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) r.resource.user = auth.slice('Bearer '.length);
    const body = await readBody(req);
    for (const i of [...ctx.interceptors]) await i(r.resource, body);
    if (r.resource.verb === 'watch') return serveWatch(ctx.store, r.resource, res, ctx.openWatches);
    const out = run(r.resource, ctx, req.headers['content-type'] ?? '', body);
    send(res, out.code, out.body);
  } catch (err) {
    const e =
      err instanceof ApiError
        ? err
        : err instanceof PatchError
          ? new ApiError(422, 'Invalid', err.message)
          : err instanceof SelectorError
            ? badRequest(err.message)
            : new ApiError(500, 'InternalError', err instanceof Error ? err.message : String(err));
    if (res.headersSent) res.end();
    else send(res, e.code, e.toStatus());
  }
}
