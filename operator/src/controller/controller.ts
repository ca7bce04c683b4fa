/**
 * The controller: informers on DuetService, RoutingPolicy, ScalingPolicy and the Deployments the
 * operator owns; one work queue; N workers. Event handlers only enqueue keys —
 *
 *   DuetService changed            → DuetService:<ns>/<name>
 *   owned Deployment changed       → its controlling DuetService
 *   RoutingPolicy/ScalingPolicy    → RoutingPolicy:<ns>/<name> (its own status) and every
 *                                    DuetService in the namespace that references it
 *
 * — and the workers run the reconcilers. Nothing starts in the constructor: `start()` builds fresh
 * informers, waits for their first lists, enqueues everything once and starts the workers;
 * `stop()` shuts the queue (in-flight reconciles finish) and the informers. A controller can be
 * started again after a stop (leadership regained).
 */
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '@duet/core';
import { RESOURCES, collectionPath, type KubeClients, type ResourceRef } from '../kube/clients.ts';
import { systemClock, type Clock } from '../kube/clock.ts';
import { apiMessage, statusCode } from '../kube/errors.ts';
import type { EventRecorder } from '../kube/events.ts';
import { ResourceInformer } from '../kube/informer.ts';
import { WorkQueue, processQueue, type HandlerResult } from '../kube/workqueue.ts';
import { ChildApplier } from './apply.ts';
import type { PoolAutoscaler } from './autoscale.ts';
import type { OperatorMetrics } from './metrics.ts';
import { MANAGED_SELECTOR } from './names.ts';
import { reconcilePolicyStatus, type PolicyKind } from './policy-status.ts';
import type { PolicyPublisher } from './publisher.ts';
import { Reconciler, type ControllerCache } from './reconciler.ts';
import { keyOf, splitKey, type DuetServiceObject, type PolicyObject } from './types.ts';

export interface ControllerOptions {
  /** Watch one namespace; '' = all namespaces. */
  namespace: string;
  concurrency: number;
  resyncMs: number;
  publishTimeoutMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export const CONTROLLER_DEFAULTS: ControllerOptions = { namespace: '', concurrency: 2, resyncMs: 300_000, publishTimeoutMs: 5_000, backoffBaseMs: 100, backoffMaxMs: 60_000 };

export interface ControllerDeps {
  clients: KubeClients;
  recorder: EventRecorder;
  publisher: PolicyPublisher;
  autoscaler?: PoolAutoscaler;
  logger: Logger;
  metrics?: OperatorMetrics;
  clock?: Clock;
  canAct?: () => boolean;
}

type Kind = 'DuetService' | PolicyKind;

interface Informers {
  services: ResourceInformer<DuetServiceObject & KubernetesObject>;
  routing: ResourceInformer<PolicyObject & KubernetesObject>;
  scaling: ResourceInformer<PolicyObject & KubernetesObject>;
  deployments: ResourceInformer<KubernetesObject>;
}

const refName = (svc: DuetServiceObject, which: 'routing' | 'scaling'): string | undefined => {
  const spec = (svc.spec ?? {}) as { router?: { policyRef?: { name?: string } }; scalingPolicyRef?: { name?: string } };
  return which === 'routing' ? spec.router?.policyRef?.name : spec.scalingPolicyRef?.name;
};

export class Controller {
  private readonly options: ControllerOptions;
  private queue?: WorkQueue;
  private informers?: Informers;
  private reconciler?: Reconciler;
  private workers?: Promise<void>;

  constructor(
    private readonly deps: ControllerDeps,
    options: Partial<ControllerOptions> = {},
  ) {
    this.options = { ...CONTROLLER_DEFAULTS, ...options };
  }

  private get clock(): Clock {
    return this.deps.clock ?? systemClock;
  }

  private informer<T extends KubernetesObject>(r: ResourceRef, list: () => Promise<unknown>, labelSelector?: string): ResourceInformer<T> {
    const path = collectionPath(r, this.options.namespace);
    return new ResourceInformer<T>(this.deps.clients.kc, { path, list: list as () => Promise<KubernetesListObject<T>>, labelSelector, logger: this.deps.logger });
  }

  private makeInformers(): Informers {
    const { custom, apps } = this.deps.clients;
    const ns = this.options.namespace;
    const listCustom = (r: ResourceRef) => () =>
      ns ? custom.listNamespacedCustomObject({ group: r.group, version: r.version, namespace: ns, plural: r.plural }) : custom.listClusterCustomObject({ group: r.group, version: r.version, plural: r.plural });
    const listDeployments = () =>
      ns ? apps.listNamespacedDeployment({ namespace: ns, labelSelector: MANAGED_SELECTOR }) : apps.listDeploymentForAllNamespaces({ labelSelector: MANAGED_SELECTOR });
    return {
      services: this.informer(RESOURCES.duetService, listCustom(RESOURCES.duetService)),
      routing: this.informer(RESOURCES.routingPolicy, listCustom(RESOURCES.routingPolicy)),
      scaling: this.informer(RESOURCES.scalingPolicy, listCustom(RESOURCES.scalingPolicy)),
      deployments: this.informer(RESOURCES.deployment, listDeployments, MANAGED_SELECTOR),
    };
  }

  enqueue(kind: Kind, key: string): void {
    this.queue?.add(`${kind}:${key}`);
    this.deps.metrics?.queueDepth.set(this.queue?.length ?? 0);
  }

  private wire(inf: Informers): void {
    inf.services.on((_t, o) => this.enqueue('DuetService', keyOf(o)));
    inf.deployments.on((_t, o) => {
      const owner = o.metadata?.ownerReferences?.find((r) => r.controller && r.kind === 'DuetService');
      if (owner) this.enqueue('DuetService', `${o.metadata?.namespace ?? ''}/${owner.name}`);
    });
    const onPolicy = (kind: PolicyKind, which: 'routing' | 'scaling') => (_t: unknown, o: PolicyObject) => {
      this.enqueue(kind, keyOf(o));
      for (const svc of inf.services.list(o.metadata.namespace)) if (refName(svc, which) === o.metadata.name) this.enqueue('DuetService', keyOf(svc));
    };
    inf.routing.on(onPolicy('RoutingPolicy', 'routing'));
    inf.scaling.on(onPolicy('ScalingPolicy', 'scaling'));
  }

  private cache(inf: Informers): ControllerCache {
    return {
      duetService: (ns, name) => inf.services.get(name, ns),
      routingPolicy: (ns, name) => inf.routing.get(name, ns),
      scalingPolicy: (ns, name) => inf.scaling.get(name, ns),
      deployment: (ns, name) => inf.deployments.get(name, ns),
    };
  }

  async start(): Promise<void> {
    if (this.workers) return;
    const d = this.deps;
    const inf = this.makeInformers();
    const queue = new WorkQueue({ clock: this.clock, baseDelayMs: this.options.backoffBaseMs, maxDelayMs: this.options.backoffMaxMs });
    this.informers = inf;
    this.queue = queue;
    this.wire(inf);
    try {
      await Promise.all(Object.values(inf).map((i: ResourceInformer<KubernetesObject>) => i.start()));
    } catch (err) {
      await this.stop();
      throw err;
    }
    const reconciler = new Reconciler({
      clients: d.clients,
      applier: new ChildApplier(d.clients),
      recorder: d.recorder,
      publisher: d.publisher,
      autoscaler: d.autoscaler,
      cache: this.cache(inf),
      clock: this.clock,
      logger: d.logger,
      canAct: () => (d.canAct ? d.canAct() : true),
      requeue: (key) => this.enqueue('DuetService', key),
      resyncMs: this.options.resyncMs,
      publishTimeoutMs: this.options.publishTimeoutMs,
    });
    this.reconciler = reconciler;
    for (const s of inf.services.list()) this.enqueue('DuetService', keyOf(s));
    for (const p of inf.routing.list()) this.enqueue('RoutingPolicy', keyOf(p));
    for (const p of inf.scaling.list()) this.enqueue('ScalingPolicy', keyOf(p));
    this.workers = processQueue(queue, (key) => this.handle(reconciler, inf, key), {
      concurrency: this.options.concurrency,
      onError: (key, err, retryInMs) => d.logger.warn({ key, code: statusCode(err), err: apiMessage(err), retryInMs }, 'reconcile failed; retrying'),
    });
    d.logger.info({ namespace: this.options.namespace || '(all)', concurrency: this.options.concurrency }, 'controller started');
  }

  private async handle(reconciler: Reconciler, inf: Informers, qkey: string): Promise<HandlerResult> {
    const i = qkey.indexOf(':');
    const kind = qkey.slice(0, i) as Kind;
    const key = qkey.slice(i + 1);
    const end = this.deps.metrics?.reconcileSeconds.startTimer({ kind });
    try {
      let r: HandlerResult = {};
      if (kind === 'DuetService') r = await reconciler.reconcile(key);
      else {
        const { namespace, name } = splitKey(key);
        const obj = (kind === 'RoutingPolicy' ? inf.routing : inf.scaling).get(name, namespace);
        if (obj && (this.deps.canAct?.() ?? true)) await reconcilePolicyStatus(this.deps.clients, this.clock, kind, obj);
      }
      this.deps.metrics?.reconciles.inc({ kind, result: 'ok' });
      return r;
    } catch (err) {
      this.deps.metrics?.reconciles.inc({ kind, result: 'error' });
      throw err;
    } finally {
      end?.();
      this.deps.metrics?.queueDepth.set(this.queue?.length ?? 0);
    }
  }

  async stop(): Promise<void> {
    this.queue?.shutDown();
    await this.workers;
    await this.reconciler?.releaseAll();
    this.reconciler = undefined;
    await Promise.all(Object.values(this.informers ?? {}).map((i: ResourceInformer<KubernetesObject>) => i.stop()));
    this.workers = undefined;
    this.queue = undefined;
    this.informers = undefined;
  }
}
