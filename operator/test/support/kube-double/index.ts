/**
 * An in-repo Kubernetes API server double for operator tests: a real HTTP server on 127.0.0.1 (a
 * free port) that @kubernetes/client-node talks to unmodified through a KubeConfig pointing at it.
 *
 * Serves: discovery; list and watch with resourceVersion (replay from an RV, 410 Gone once the watch
 * cache has moved past it); get/create/update/delete; merge, strategic-merge (as merge) and JSON
 * patch; status and scale subresources; 409 on a stale resourceVersion; generation bumps on spec
 * changes; finalizers with deletionTimestamp; ownerReference garbage collection; Leases and Events.
 * Not served (answered with an error, never silently): server-side apply, dryRun,
 * deletecollection. Simplified: strategic merge patch is applied as a JSON merge patch (no list
 * merge keys); deletion propagation is always Background (no Foreground/Orphan); admission is only
 * the validators a test passes; built-in defaults are limited to defaults.ts.
 *
 * Test hooks: `requests` (every resource request, in order), `intercept` (see or fail a request),
 * `closeWatches` (drop every watch, as an API server restart does), `compact` (force 410 on the
 * next watch from an older RV), `workloads` (the Deployment status simulator).
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { BUILTIN_RESOURCES, DUET_RESOURCES, ResourceTable, type ResourceDef } from './resources.ts';
import type { RequestInfo } from './routes.ts';
import { handle, type Interceptor, type ServerContext, type Validator } from './server.ts';
import { Store } from './store.ts';
import { WorkloadSimulator, type WorkloadMode } from './workloads.ts';

export { ApiError, conflict, notFound } from './errors.ts';
export { BUILTIN_RESOURCES, DUET_RESOURCES, type ResourceDef } from './resources.ts';
export type { RequestInfo, Verb } from './routes.ts';
export type { Interceptor, Validator } from './server.ts';
export type { StoredObject, ObjectMeta, OwnerReference } from './types.ts';
export { Store } from './store.ts';
export { jsonPatch, mergePatch } from './patch.ts';
export { parseLabelSelector } from './selectors.ts';

export interface KubeDoubleOptions {
  /** Defaults to the built-in kinds plus the three Duet CRDs. */
  resources?: readonly ResourceDef[];
  /** Watch-cache size (events kept for replay). */
  maxEvents?: number;
  now?: () => number;
  /** 'ready' (default): Deployments report every replica ready after each rollout. */
  workloads?: WorkloadMode;
  validators?: Validator[];
}

export interface RecordedRequest {
  verb: RequestInfo['verb'];
  resource: string;
  namespace: string;
  name?: string;
  subresource?: string;
  /** The token of the KubeConfig that made the request. */
  user?: string;
}

export class KubeDouble {
  readonly requests: RecordedRequest[] = [];
  private readonly ctx: ServerContext;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly store: Store,
    readonly workloads: WorkloadSimulator,
    validators: Validator[],
  ) {
    this.ctx = { store, interceptors: [], validators, openWatches: new Set<ServerResponse>() };
    this.ctx.interceptors.push((info) => {
      this.requests.push({ verb: info.verb, resource: info.def.plural, namespace: info.namespace, name: info.name, subresource: info.subresource, user: info.user });
    });
    server.on('request', (req, res) => void handle(this.ctx, req, res));
  }

  static async start(opts: KubeDoubleOptions = {}): Promise<KubeDouble> {
    const store = new Store(new ResourceTable(opts.resources ?? [...BUILTIN_RESOURCES, ...DUET_RESOURCES]), { now: opts.now, maxEvents: opts.maxEvents });
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const workloads = new WorkloadSimulator(store, opts.workloads ?? 'ready');
    workloads.start();
    return new KubeDouble(server, `http://127.0.0.1:${port}`, store, workloads, opts.validators ?? []);
  }

  /**
   * A KubeConfig for this server (http, so TLS verification is off). `user` becomes the bearer
   * token, recorded with each request, so a test can tell two clients apart.
   */
  kubeConfig(namespace = 'default', user = 'tester'): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'double', server: this.url, skipTLSVerify: true }],
      users: [{ name: user, token: user }],
      contexts: [{ name: 'double', cluster: 'double', user, namespace }],
      currentContext: 'double',
    });
    return kc;
  }

  /** Runs before every resource request; throw an ApiError to answer with it. Returns a remover. */
  intercept(fn: Interceptor): () => void {
    this.ctx.interceptors.push(fn);
    return () => {
      const i = this.ctx.interceptors.indexOf(fn);
      if (i >= 0) this.ctx.interceptors.splice(i, 1);
    };
  }

  /** Requests that changed (or tried to change) state, optionally for one resource plural. */
  writes(resource?: string): RecordedRequest[] {
    return this.requests.filter((r) => ['create', 'update', 'patch', 'delete'].includes(r.verb) && (resource === undefined || r.resource === resource));
  }

  /** Ends every open watch stream; clients reconnect from their last resourceVersion. */
  closeWatches(): void {
    for (const res of this.ctx.openWatches) res.end();
  }

  /** Drops the watch cache up to now: a watch from any older resourceVersion gets 410 Gone. */
  compact(): void {
    this.store.log.compact(this.store.currentRv());
  }

  async close(): Promise<void> {
    this.workloads.stop();
    this.closeWatches();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
