/**
 * Applying one desired child object, idempotently:
 *  1. read it; absent → create it (with the last-applied annotation);
 *  2. owned by another controller (or nobody) → refuse: the operator never adopts or overwrites
 *     what it did not create (ChildOwnershipError, reported as Degraded);
 *  3. last-applied annotation equal to the desired object, and every desired field still set on
 *     the live object (nobody edited it) → nothing to do (no write at all);
 *  4. otherwise a three-way merge patch carrying the resourceVersion just read, so a concurrent
 *     writer makes it fail with 409; a conflict re-reads and retries (`conflictRetries` times)
 *     before the error goes back to the work queue's backoff.
 */
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { KubeClients } from '../kube/clients.ts';
import { isConflict, isNotFound } from '../kube/errors.ts';
import { LAST_APPLIED_ANNOTATION } from './names.ts';
import { canonicalJson, isSubset, threeWayMergePatch } from './merge.ts';
import type { KubeObject } from './types.ts';

export type ChildKind = 'Deployment' | 'Service' | 'ConfigMap' | 'PodDisruptionBudget';

interface KindApi {
  read(namespace: string, name: string): Promise<KubeObject>;
  create(namespace: string, body: KubeObject): Promise<KubeObject>;
  patch(namespace: string, name: string, body: unknown): Promise<KubeObject>;
  delete(namespace: string, name: string): Promise<unknown>;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/* The typed clients take their own model types; children are built to match them (`as never`). */
function kindApis(c: KubeClients): Record<ChildKind, KindApi> {
  return {
    Deployment: {
      read: (namespace, name) => c.apps.readNamespacedDeployment({ namespace, name }) as Promise<KubeObject>,
      create: (namespace, body) => c.apps.createNamespacedDeployment({ namespace, body: body as never }) as Promise<KubeObject>,
      patch: (namespace, name, body) => c.apps.patchNamespacedDeployment({ namespace, name, body }, mergePatch) as Promise<KubeObject>,
      delete: (namespace, name) => c.apps.deleteNamespacedDeployment({ namespace, name }),
    },
    Service: {
      read: (namespace, name) => c.core.readNamespacedService({ namespace, name }) as Promise<KubeObject>,
      create: (namespace, body) => c.core.createNamespacedService({ namespace, body: body as never }) as Promise<KubeObject>,
      patch: (namespace, name, body) => c.core.patchNamespacedService({ namespace, name, body }, mergePatch) as Promise<KubeObject>,
      delete: (namespace, name) => c.core.deleteNamespacedService({ namespace, name }),
    },
    ConfigMap: {
      read: (namespace, name) => c.core.readNamespacedConfigMap({ namespace, name }) as Promise<KubeObject>,
      create: (namespace, body) => c.core.createNamespacedConfigMap({ namespace, body: body as never }) as Promise<KubeObject>,
      patch: (namespace, name, body) => c.core.patchNamespacedConfigMap({ namespace, name, body }, mergePatch) as Promise<KubeObject>,
      delete: (namespace, name) => c.core.deleteNamespacedConfigMap({ namespace, name }),
    },
    PodDisruptionBudget: {
      read: (namespace, name) => c.policy.readNamespacedPodDisruptionBudget({ namespace, name }) as Promise<KubeObject>,
      create: (namespace, body) => c.policy.createNamespacedPodDisruptionBudget({ namespace, body: body as never }) as Promise<KubeObject>,
      patch: (namespace, name, body) => c.policy.patchNamespacedPodDisruptionBudget({ namespace, name, body }, mergePatch) as Promise<KubeObject>,
      delete: (namespace, name) => c.policy.deleteNamespacedPodDisruptionBudget({ namespace, name }),
    },
  };
}

export class ChildOwnershipError extends Error {
  override name = 'ChildOwnershipError';
  constructor(
    readonly kind: string,
    readonly childName: string,
    owner: string,
  ) {
    super(`${kind} "${childName}" already exists and is ${owner}; delete or rename it`);
  }
}

export type ApplyAction = 'created' | 'updated' | 'unchanged';
export interface ApplyOutcome {
  kind: ChildKind;
  name: string;
  action: ApplyAction;
  /** The object as the API server has it now. */
  live: KubeObject;
}

function ownerDescription(live: KubeObject, ownerUid: string): string | undefined {
  const ctl = live.metadata?.ownerReferences?.find((r) => r.controller);
  if (ctl?.uid === ownerUid) return undefined;
  return ctl ? `controlled by ${ctl.kind} "${ctl.name}"` : 'not controlled by this DuetService';
}

/** `obj` with the last-applied annotation recording `applied` (what the operator owns of it). */
function annotate(obj: KubeObject, applied: KubeObject): KubeObject {
  return { ...obj, metadata: { ...obj.metadata, annotations: { ...obj.metadata?.annotations, [LAST_APPLIED_ANNOTATION]: canonicalJson(applied) } } };
}

/** A copy without the given dotted paths. */
function withoutPaths<T>(obj: T, paths: readonly string[]): T {
  if (paths.length === 0 || obj === undefined || obj === null) return obj;
  const copy = structuredClone(obj) as Record<string, unknown>;
  for (const path of paths) {
    const parts = path.split('.');
    let cur: unknown = copy;
    for (const p of parts.slice(0, -1)) cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[p] : undefined;
    if (cur !== null && typeof cur === 'object') delete (cur as Record<string, unknown>)[parts[parts.length - 1]];
  }
  return copy as T;
}

/** The annotation's JSON; a missing or mangled one counts as nothing applied (the patch then sets everything). */
function parseLastApplied(text: string | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export class ChildApplier {
  private readonly apis: Record<ChildKind, KindApi>;

  constructor(
    clients: KubeClients,
    private readonly conflictRetries = 2,
  ) {
    this.apis = kindApis(clients);
  }

  /**
   * `createOnly`: dotted paths (e.g. `spec.replicas`) set when the object is created and left to
   * others afterwards — never patched, never deleted (a pool whose size an autoscaler owns).
   */
  async apply(desired: KubeObject, ownerUid: string, opts: { createOnly?: string[] } = {}): Promise<ApplyOutcome> {
    const kind = desired.kind as ChildKind;
    const api = this.apis[kind];
    if (!api) throw new Error(`no apply support for kind ${String(desired.kind)}`);
    const namespace = desired.metadata?.namespace ?? '';
    const name = desired.metadata?.name ?? '';
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.applyOnce(api, kind, { namespace, name, desired, ownerUid, createOnly: opts.createOnly ?? [] });
      } catch (err) {
        if (!isConflict(err) || attempt >= this.conflictRetries) throw err;
      }
    }
  }

  private async applyOnce(api: KindApi, kind: ChildKind, a: { namespace: string; name: string; desired: KubeObject; ownerUid: string; createOnly: string[] }): Promise<ApplyOutcome> {
    const { namespace, name, ownerUid } = a;
    let live: KubeObject;
    try {
      live = await api.read(namespace, name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      return { kind, name, action: 'created', live: await api.create(namespace, annotate(a.desired, withoutPaths(a.desired, a.createOnly))) };
    }
    const desired = withoutPaths(a.desired, a.createOnly);
    const last = canonicalJson(desired);
    const annotated = annotate(desired, desired);
    const foreign = ownerDescription(live, ownerUid);
    if (foreign) throw new ChildOwnershipError(kind, name, foreign);
    const liveLast = live.metadata?.annotations?.[LAST_APPLIED_ANNOTATION];
    // Unchanged = what we last applied is what we want now, and nobody has edited it since.
    if (liveLast === last && isSubset(annotated, live)) return { kind, name, action: 'unchanged', live };
    const base = withoutPaths(parseLastApplied(liveLast), a.createOnly);
    const patch = threeWayMergePatch(base, annotated) as KubeObject;
    patch.metadata = { ...patch.metadata, resourceVersion: live.metadata?.resourceVersion };
    return { kind, name, action: 'updated', live: await api.patch(namespace, name, patch) };
  }

  /** Deletes a child the operator no longer wants, if it exists and is ours. Returns whether it did. */
  async deleteIfOwned(kind: ChildKind, namespace: string, name: string, ownerUid: string): Promise<boolean> {
    const api = this.apis[kind];
    try {
      const live = await api.read(namespace, name);
      if (ownerDescription(live, ownerUid)) return false;
      await api.delete(namespace, name);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }
}
