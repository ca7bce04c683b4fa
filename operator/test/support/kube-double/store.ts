/**
 * The double's storage and API semantics, without HTTP: objects keyed by resource/namespace/name,
 * one global resourceVersion counter, and the rules controllers depend on —
 *  - create: uid, creationTimestamp, generation 1, resourceVersion; 409 AlreadyExists.
 *  - update: 409 Conflict when metadata.resourceVersion is stale; a write that changes nothing is a
 *    no-op (same resourceVersion, no event); generation grows when anything outside metadata and
 *    status changes; the main resource cannot change status and /status can change only status.
 *  - delete: with finalizers the object only gets a deletionTimestamp; it goes once an update
 *    empties its finalizers. When an object goes, its dependents (ownerReferences) are garbage
 *    collected: deleted if no other owner of theirs still exists, otherwise the dangling reference
 *    is removed (background propagation).
 * Every write appends one event to the EventLog that watches read.
 */
import { randomUUID } from 'node:crypto';
import { ApiError, badRequest, conflict, notFound } from './errors.ts';
import { EventLog } from './event-log.ts';
import { groupVersion, resourceId, type ResourceDef, type ResourceTable } from './resources.ts';
import { parseFieldSelector, parseLabelSelector } from './selectors.ts';
import { applyDefaults, checkImmutable } from './defaults.ts';
import { stableJson } from './json.ts';
import type { StoredObject, WatchEventType } from './types.ts';

export interface StoreOptions {
  /** Wall clock for creation/deletion timestamps. */
  now?: () => number;
  /** Watch-cache size; older events are compacted (watches from before them get 410). */
  maxEvents?: number;
}

export interface ListOptions {
  labelSelector?: string | null;
  fieldSelector?: string | null;
}

const clone = <T>(v: T): T => structuredClone(v);

const rfc3339 = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** Everything the `generation` counter watches: the object minus metadata (and status, when it is a subresource). */
function specPart(def: ResourceDef, o: StoredObject): string {
  const rest: Record<string, unknown> = { ...o, metadata: undefined, apiVersion: undefined, kind: undefined };
  if (def.statusSubresource) delete rest.status;
  return stableJson(rest);
}

export class Store {
  readonly log: EventLog;
  private rv = 0;
  private readonly objects = new Map<string, StoredObject>();
  private readonly now: () => number;

  constructor(
    readonly table: ResourceTable,
    opts: StoreOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.log = new EventLog(opts.maxEvents ?? 1000);
  }

  currentRv(): number {
    return this.rv;
  }

  private key(def: ResourceDef, ns: string, name: string): string {
    return `${resourceId(def)}/${def.namespaced ? ns : ''}/${name}`;
  }

  private commit(def: ResourceDef, type: WatchEventType, obj: StoredObject): StoredObject {
    this.rv += 1;
    obj.metadata.resourceVersion = String(this.rv);
    const k = this.key(def, obj.metadata.namespace ?? '', obj.metadata.name ?? '');
    const previous = type === 'MODIFIED' ? this.objects.get(k) : undefined;
    if (type === 'DELETED') this.objects.delete(k);
    else this.objects.set(k, obj);
    this.log.append({ rv: this.rv, type, resource: resourceId(def), object: clone(obj), ...(previous ? { previous: clone(previous) } : {}) });
    return clone(obj);
  }

  private mustGet(def: ResourceDef, ns: string, name: string): StoredObject {
    const o = this.objects.get(this.key(def, ns, name));
    if (!o) throw notFound(def.kind, name, def.group);
    return o;
  }

  get(def: ResourceDef, ns: string, name: string): StoredObject {
    return clone(this.mustGet(def, ns, name));
  }

  list(def: ResourceDef, ns: string | undefined, opts: ListOptions = {}): { items: StoredObject[]; resourceVersion: string } {
    const labels = parseLabelSelector(opts.labelSelector);
    const fields = parseFieldSelector(opts.fieldSelector);
    const prefix = `${resourceId(def)}/${ns !== undefined && def.namespaced ? ns : ''}`;
    const items = [...this.objects.entries()]
      .filter(([k, o]) => (ns === undefined ? k.startsWith(`${resourceId(def)}/`) : k.startsWith(`${prefix}/`)) && labels(o.metadata.labels) && fields(o.metadata))
      .map(([, o]) => clone(o));
    return { items, resourceVersion: String(this.rv) };
  }

  create(def: ResourceDef, ns: string, body: StoredObject): StoredObject {
    if (body?.metadata === undefined || typeof body.metadata !== 'object') throw badRequest('the object has no metadata');
    if (body.kind !== undefined && body.kind !== def.kind) throw badRequest(`kind "${body.kind}" does not match the URL's resource (${def.kind})`);
    if (body.metadata.resourceVersion) throw badRequest('resourceVersion should not be set on objects to be created');
    const obj = clone(body);
    const meta = obj.metadata;
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${randomUUID().slice(0, 5)}`;
    if (!meta.name) throw new ApiError(422, 'Invalid', `${def.kind} is invalid: metadata.name: Required value`);
    if (def.namespaced) {
      if (meta.namespace && meta.namespace !== ns) throw badRequest(`the namespace of the object (${meta.namespace}) does not match the namespace on the request (${ns})`);
      meta.namespace = ns;
    } else delete meta.namespace;
    if (this.objects.has(this.key(def, ns, meta.name))) {
      throw new ApiError(409, 'AlreadyExists', `${def.plural}${def.group ? '.' + def.group : ''} "${meta.name}" already exists`, { name: meta.name, group: def.group, kind: def.kind });
    }
    obj.apiVersion = groupVersion(def);
    obj.kind = def.kind;
    Object.assign(meta, { uid: randomUUID(), creationTimestamp: rfc3339(this.now()), generation: 1 });
    delete meta.deletionTimestamp;
    if (def.statusSubresource) delete obj.status;
    applyDefaults(def, obj, undefined);
    return this.commit(def, 'ADDED', obj);
  }

  /**
   * PUT. `subresource` 'status' takes only the body's status; the main resource keeps the stored
   * status when the kind has a status subresource.
   */
  update(def: ResourceDef, ns: string, name: string, body: StoredObject, subresource?: 'status'): StoredObject {
    const cur = this.mustGet(def, ns, name);
    if (body?.metadata === undefined) throw badRequest('the object has no metadata');
    if (body.metadata.name !== undefined && body.metadata.name !== name) throw badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
    const rv = body.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== cur.metadata.resourceVersion) throw conflict(def.kind, name, def.group);
    let next: StoredObject;
    if (subresource === 'status') next = { ...clone(cur), status: clone(body.status) };
    else {
      next = clone(body);
      if (def.statusSubresource) next.status = clone(cur.status);
      if (next.status === undefined) delete next.status;
    }
    return this.replaceStored(def, cur, next);
  }

  /** Shared tail of update and patch: keeps server-owned fields, bumps generation, finishes deletions. */
  private replaceStored(def: ResourceDef, cur: StoredObject, next: StoredObject): StoredObject {
    const meta = next.metadata ?? {};
    next.metadata = meta;
    next.apiVersion = cur.apiVersion;
    next.kind = cur.kind;
    for (const k of ['name', 'namespace', 'uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'] as const) {
      if (cur.metadata[k] === undefined) delete meta[k];
      else (meta as Record<string, unknown>)[k] = cur.metadata[k];
    }
    if (meta.finalizers?.length === 0) delete meta.finalizers;
    applyDefaults(def, next, cur);
    checkImmutable(def, cur, next);
    if (specPart(def, next) !== specPart(def, cur)) meta.generation = (cur.metadata.generation ?? 0) + 1;
    meta.resourceVersion = cur.metadata.resourceVersion;
    if (stableJson(next) === stableJson(cur)) return clone(cur);
    if (cur.metadata.deletionTimestamp && !meta.finalizers?.length) return this.remove(def, next);
    return this.commit(def, 'MODIFIED', next);
  }

  /** PATCH: `apply` maps the current object (a copy) to the patched one. */
  patch(def: ResourceDef, ns: string, name: string, apply: (cur: StoredObject) => StoredObject, subresource?: 'status'): StoredObject {
    const cur = this.mustGet(def, ns, name);
    const patched = apply(clone(cur));
    if (patched?.metadata === undefined || typeof patched.metadata !== 'object') throw badRequest('the patch removed metadata');
    const rv = patched.metadata.resourceVersion;
    if (rv !== undefined && rv !== cur.metadata.resourceVersion) throw conflict(def.kind, name, def.group);
    if (patched.metadata.name !== name) throw badRequest('a patch cannot change metadata.name');
    let next = patched;
    if (subresource === 'status') next = { ...clone(cur), status: patched.status };
    else if (def.statusSubresource) next = { ...patched, status: clone(cur.status) };
    if (next.status === undefined) delete next.status;
    return this.replaceStored(def, cur, next);
  }

  /**
   * DELETE. Returns the object and whether it is gone now (false: finalizers hold it, it only got
   * a deletionTimestamp). `preconditions` as in DeleteOptions.
   */
  delete(def: ResourceDef, ns: string, name: string, preconditions: { uid?: string; resourceVersion?: string } = {}): { object: StoredObject; gone: boolean } {
    const cur = this.mustGet(def, ns, name);
    if (preconditions.uid && preconditions.uid !== cur.metadata.uid) throw conflict(def.kind, name, def.group, `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${cur.metadata.uid}`);
    if (preconditions.resourceVersion && preconditions.resourceVersion !== cur.metadata.resourceVersion) {
      throw conflict(def.kind, name, def.group, 'Precondition failed: the object has been modified');
    }
    if (cur.metadata.finalizers?.length) {
      if (cur.metadata.deletionTimestamp) return { object: clone(cur), gone: false };
      const next = clone(cur);
      next.metadata.deletionTimestamp = rfc3339(this.now());
      next.metadata.deletionGracePeriodSeconds = 0;
      next.metadata.generation = (cur.metadata.generation ?? 0) + 1;
      return { object: this.commit(def, 'MODIFIED', next), gone: false };
    }
    return { object: this.remove(def, clone(cur)), gone: true };
  }

  private remove(def: ResourceDef, obj: StoredObject): StoredObject {
    const out = this.commit(def, 'DELETED', obj);
    this.collectGarbage(obj.metadata.uid ?? '');
    return out;
  }

  /** Background propagation: dependents of a vanished owner go when none of their owners is left. */
  private collectGarbage(ownerUid: string): void {
    const uids = new Set([...this.objects.values()].map((o) => o.metadata.uid));
    for (const [, dep] of [...this.objects.entries()]) {
      const refs = dep.metadata.ownerReferences ?? [];
      if (!refs.some((r) => r.uid === ownerUid)) continue;
      const def = this.table.forKind(dep.apiVersion, dep.kind);
      if (!def || !this.objects.has(this.key(def, dep.metadata.namespace ?? '', dep.metadata.name ?? ''))) continue;
      const remaining = refs.filter((r) => r.uid !== ownerUid && uids.has(r.uid));
      if (remaining.length > 0) {
        const next = clone(dep);
        next.metadata.ownerReferences = refs.filter((r) => r.uid !== ownerUid);
        this.commit(def, 'MODIFIED', next);
      } else this.delete(def, dep.metadata.namespace ?? '', dep.metadata.name ?? '');
    }
  }
}
