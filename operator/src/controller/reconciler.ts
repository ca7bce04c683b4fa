/**
 * The DuetService reconcile: short, level-triggered and idempotent. Given a key it
 *   1. reads the DuetService from the informer cache (gone → forget in-memory state);
 *   2. handles deletion: finalizer present → stop the autoscaler, record an Event, remove the
 *      finalizer (the garbage collector then removes every child through its owner reference);
 *   3. ensures the finalizer;
 *   4. parses the spec with the CRD's own schema (invalid → status says why, nothing applied);
 *   5. resolves the referenced policies and the pool replicas;
 *   6. computes the desired children (a pure function) and applies each one (create, or a
 *      three-way merge patch only when it differs from what was last applied);
 *   7. publishes a changed RoutingPolicy to the routers over NATS;
 *   8. writes status and conditions (only when they changed) and Events on transitions;
 *   9. hands the pools to the autoscaler and asks to be requeued for a periodic resync.
 * Run twice on an unchanged world, the second pass writes nothing.
 */
import type { Logger } from '@duet/core';
import { duetServiceSpecSchema, DUET_API_VERSION, type DuetServiceSpec, type DuetServiceStatus } from '../crds/index.ts';
import type { Clock } from '../kube/clock.ts';
import type { KubeClients } from '../kube/clients.ts';
import { apiMessage } from '../kube/errors.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { HandlerResult } from '../kube/workqueue.ts';
import { ChildOwnershipError, type ApplyOutcome, type ChildApplier } from './apply.ts';
import { resolvePoolReplicas, type PoolAutoscaler } from './autoscale.ts';
import { desiredChildren, withConfigHash } from './desired.ts';
import { addFinalizer, hasFinalizer, isDeleting, removeFinalizer } from './finalizer.ts';
import { COMPONENTS, MAX_SERVICE_NAME_LENGTH, POOL_COMPONENTS, childName, subjectPrefixFor, type Component, type PoolComponent } from './names.ts';
import { resolveRoutingPolicy, resolveScalingPolicy } from './policies.ts';
import type { PolicyPublisher } from './publisher.ts';
import { computeStatus, type Problem } from './status.ts';
import { reportTransitions, writeStatus } from './status-writer.ts';
import { autoscaleTarget } from './targets.ts';
import { splitKey, type DeploymentView, type DuetServiceObject, type PolicyObject } from './types.ts';

export interface ControllerCache {
  duetService(namespace: string, name: string): DuetServiceObject | undefined;
  routingPolicy(namespace: string, name: string): PolicyObject | undefined;
  scalingPolicy(namespace: string, name: string): PolicyObject | undefined;
  deployment(namespace: string, name: string): DeploymentView | undefined;
}

export interface ReconcilerDeps {
  clients: KubeClients;
  applier: ChildApplier;
  recorder: EventRecorder;
  publisher: PolicyPublisher;
  autoscaler?: PoolAutoscaler;
  cache: ControllerCache;
  clock: Clock;
  logger: Logger;
  /** Leadership fence: false → do nothing (this replica is not, or no longer, the leader). */
  canAct(): boolean;
  requeue(key: string): void;
  resyncMs: number;
  /** How long a NATS policy publish may take before it is retried on a later pass. */
  publishTimeoutMs: number;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function parseSpec(svc: DuetServiceObject): { spec: DuetServiceSpec } | { problem: Problem } {
  const name = svc.metadata.name ?? '';
  if (!DNS_LABEL.test(name) || name.length > MAX_SERVICE_NAME_LENGTH) {
    return { problem: { reason: 'InvalidName', message: `metadata.name "${name}" must be a DNS label of at most ${MAX_SERVICE_NAME_LENGTH} characters (child names append up to 15)` } };
  }
  const r = duetServiceSpecSchema.safeParse(svc.spec ?? {});
  if (r.success) return { spec: r.data };
  const message = r.error.issues.map((i) => `spec.${i.path.map(String).join('.')}: ${i.message}`).join('; ');
  return { problem: { reason: 'InvalidSpec', message } };
}

export class Reconciler {
  /** Services handed to the autoscaler, released when this controller stops (leadership lost). */
  private readonly autoscaled = new Set<string>();

  constructor(private readonly deps: ReconcilerDeps) {}

  /** Stops every autoscaler loop this reconciler started: only the leader may scale. */
  async releaseAll(): Promise<void> {
    const keys = [...this.autoscaled];
    this.autoscaled.clear();
    for (const key of keys) await this.deps.autoscaler?.release(key);
  }

  private async release(key: string): Promise<void> {
    this.autoscaled.delete(key);
    await this.deps.autoscaler?.release(key);
  }

  async reconcile(key: string): Promise<HandlerResult> {
    const { namespace, name } = splitKey(key);
    const d = this.deps;
    // 1. Read from the cache.
    let svc = d.cache.duetService(namespace, name);
    if (!svc) {
      d.publisher.forget(key);
      await this.release(key);
      return {};
    }
    if (!d.canAct()) return {};
    // 2. Deletion.
    if (isDeleting(svc)) return this.finalize(key, svc);
    // 3. Finalizer.
    if (!hasFinalizer(svc)) svc = await addFinalizer(d.clients, svc);
    // 4. Spec.
    const parsed = parseSpec(svc);
    if ('problem' in parsed) {
      await this.finish(svc, computeStatus({ ...this.statusBase(svc, this.cachedDeployments(namespace, name)), invalidSpec: parsed.problem }));
      return {};
    }
    return this.applySpec(key, svc, parsed.spec);
  }

  private async applySpec(key: string, svc: DuetServiceObject, spec: DuetServiceSpec): Promise<HandlerResult> {
    const d = this.deps;
    const { namespace, name } = splitKey(key);
    // 5. Policies and replicas.
    const lookup = (get: (ns: string, n: string) => PolicyObject | undefined) => (n: string) => get(namespace, n);
    const routing = resolveRoutingPolicy(spec.router.policyRef, lookup((ns, n) => d.cache.routingPolicy(ns, n)));
    const scaling = resolveScalingPolicy(spec.scalingPolicyRef, lookup((ns, n) => d.cache.scalingPolicy(ns, n)));
    const problems: Problem[] = [routing, scaling].flatMap((r) => (r.state === 'problem' ? [r.problem] : []));
    // The gateway reads the tokenizer from the model folder; a separate folder is not wired yet.
    if (spec.model.tokenizer.path !== undefined) {
      problems.push({ reason: 'TokenizerPathUnsupported', message: `spec.model.tokenizer.path "${spec.model.tokenizer.path}" is not supported yet: the gateway reads tokenizer.json from the model folder` });
    }
    // Under a ScalingPolicy a pool's size is the autoscaler's; with no opinion from it yet, the
    // Deployment keeps whatever it has (replicas are set only when it is created).
    const autoscaled = spec.scalingPolicyRef !== undefined;
    const fromAutoscaler = (pool: PoolComponent) => d.autoscaler?.desiredReplicas(key, pool);
    const replicas = Object.fromEntries(
      POOL_COMPONENTS.map((pool) => [pool, resolvePoolReplicas({ pool: spec[pool], autoscaled, fromAutoscaler: fromAutoscaler(pool) })]),
    ) as Record<PoolComponent, number>;
    const keepLiveReplicas = new Set(POOL_COMPONENTS.filter((pool) => autoscaled && fromAutoscaler(pool) === undefined).map((pool) => childName(name, pool)));
    const subjectPrefix = subjectPrefixFor(namespace, name);
    const owner = { apiVersion: svc.apiVersion ?? DUET_API_VERSION, kind: svc.kind ?? 'DuetService', name, namespace, uid: svc.metadata.uid ?? '' };
    const input = withConfigHash({ owner, spec, subjectPrefix, replicas, drainTimeoutSeconds: scaling.state === 'ok' ? scaling.value.drainTimeoutSeconds : undefined });
    // 6. Desired children, applied in order.
    const children = desiredChildren(input, { routingPolicyJson: routing.state === 'ok' ? routing.value.documentJson : undefined });
    const outcomes: ApplyOutcome[] = [];
    let failure: Error | undefined;
    for (const child of children) {
      if (!d.canAct()) return {};
      try {
        const createOnly = child.kind === 'Deployment' && keepLiveReplicas.has(child.metadata?.name ?? '') ? ['spec.replicas'] : [];
        const o = await d.applier.apply(child, owner.uid, { createOnly });
        outcomes.push(o);
        if (o.action !== 'unchanged') await d.recorder.record(svc, 'Normal', o.action === 'created' ? 'Created' : 'Updated', `${o.action === 'created' ? 'Created' : 'Updated'} ${o.kind} ${o.name}`);
      } catch (err) {
        if (err instanceof ChildOwnershipError) problems.push({ reason: 'ChildConflict', message: err.message });
        else {
          failure ??= err instanceof Error ? err : new Error(apiMessage(err));
          problems.push({ reason: 'ApplyFailed', message: `${String(child.kind)} ${child.metadata?.name}: ${apiMessage(err)}` });
        }
      }
    }
    if (spec.router.policyRef === undefined) await d.applier.deleteIfOwned('ConfigMap', namespace, childName(name, 'routing-policy'), owner.uid);
    // 7. Publish the routing policy.
    let requeueAfterMs = d.resyncMs;
    if (routing.state === 'ok' && failure === undefined) {
      const retryMs = await this.publish(key, svc, spec, subjectPrefix, routing.value);
      if (retryMs !== undefined) requeueAfterMs = Math.min(requeueAfterMs, retryMs);
    }
    // 8. Status.
    const live: Partial<Record<Component, DeploymentView>> = { ...this.cachedDeployments(namespace, name) };
    for (const o of outcomes) if (o.kind === 'Deployment') live[o.name.slice(name.length + 1) as Component] = o.live;
    const port = spec.gateway.service.port;
    const status = computeStatus({ ...this.statusBase(svc, live), problems, endpoint: `http://${childName(name, 'gateway')}.${namespace}.svc${port === 80 ? '' : `:${port}`}` });
    await this.finish(svc, status);
    if (failure !== undefined) throw failure;
    // 9. Autoscaler.
    if (d.autoscaler && scaling.state === 'ok' && d.canAct()) {
      this.autoscaled.add(key);
      d.autoscaler.ensure(autoscaleTarget({ key, svc, spec, policy: scaling.value, subjectPrefix, live, requeue: () => d.requeue(key) }));
    } else if (this.autoscaled.has(key)) await this.release(key);
    return { requeueAfterMs };
  }

  private async publish(key: string, svc: DuetServiceObject, spec: DuetServiceSpec, subjectPrefix: string, doc: { name: string; generation: number; documentJson: string }): Promise<number | undefined> {
    const d = this.deps;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from NATS ${spec.nats.url} within ${d.publishTimeoutMs} ms`)), d.publishTimeoutMs);
    });
    try {
      const published = await Promise.race([d.publisher.publish(key, { natsUrl: spec.nats.url, subjectPrefix }, doc), timeout]);
      if (published) await d.recorder.record(svc, 'Normal', 'PolicyPublished', `RoutingPolicy ${doc.name} generation ${doc.generation} published to the routers`);
      return undefined;
    } catch (err) {
      await d.recorder.record(svc, 'Warning', 'PolicyPublishFailed', `RoutingPolicy ${doc.name}: ${apiMessage(err)} (routers still get it from the ConfigMap)`);
      return Math.min(d.resyncMs, 5_000);
    } finally {
      clearTimeout(timer);
    }
  }

  private async finalize(key: string, svc: DuetServiceObject): Promise<HandlerResult> {
    const d = this.deps;
    if (!hasFinalizer(svc)) return {};
    await this.release(key);
    d.publisher.forget(key);
    await d.recorder.record(svc, 'Normal', 'Deleting', 'autoscaling stopped; children are removed by the garbage collector');
    await removeFinalizer(d.clients, svc);
    return {};
  }

  private cachedDeployments(namespace: string, name: string): Partial<Record<Component, DeploymentView>> {
    const out: Partial<Record<Component, DeploymentView>> = {};
    for (const c of COMPONENTS) {
      const dep = this.deps.cache.deployment(namespace, childName(name, c));
      if (dep) out[c] = dep;
    }
    return out;
  }

  private statusBase(svc: DuetServiceObject, deployments: Partial<Record<Component, DeploymentView>>) {
    return { generation: svc.metadata.generation ?? 0, deployments, problems: [], now: new Date(this.deps.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'), previous: svc.status };
  }

  /** 8. Writes the status if it changed and records Events for Ready/Degraded transitions. */
  private async finish(svc: DuetServiceObject, status: DuetServiceStatus): Promise<void> {
    if (!this.deps.canAct()) return;
    const changed = await writeStatus(this.deps.clients, svc, status);
    if (changed) await reportTransitions(this.deps.recorder, svc, svc.status, status);
  }
}
