/**
 * Fixtures for the controller scenarios: an API server double, an Operator pointed at it, a
 * publisher that records instead of talking to NATS, typed access to the objects a test creates
 * and inspects, and `until` (poll a condition; no fixed sleeps).
 */
import { AppsV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubernetesObject, type V1Deployment } from '@kubernetes/client-node';
import { createLogger } from '@duet/core';
import { Operator, type OperatorOptions } from '../src/controller/operator.ts';
import type { PolicyPublisher } from '../src/controller/publisher.ts';
import type { RoutingPolicyDoc } from '../src/controller/policies.ts';
import type { DuetServiceStatus } from '../src/crds/index.ts';
import { KubeDouble, type KubeDoubleOptions } from './support/kube-double/index.ts';

export const NS = 'duet';
export const logger = createLogger('test', { level: process.env.DUET_TEST_LOG_LEVEL ?? 'silent' });
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${last instanceof Error ? last.message : JSON.stringify(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}

/** Records what would go out on NATS; dedupes like NatsPolicyPublisher. */
export class RecordingPublisher implements PolicyPublisher {
  readonly sent: { key: string; subjectPrefix: string; natsUrl: string; doc: RoutingPolicyDoc }[] = [];
  private readonly last = new Map<string, string>();
  failing = false;

  async publish(key: string, target: { natsUrl: string; subjectPrefix: string }, doc: RoutingPolicyDoc): Promise<boolean> {
    await Promise.resolve();
    if (this.failing) throw new Error('NATS unreachable (test)');
    const fp = `${target.subjectPrefix} ${doc.generation} ${doc.documentJson}`;
    if (this.last.get(key) === fp) return false;
    this.last.set(key, fp);
    this.sent.push({ key, ...target, doc });
    return true;
  }
  forget(key: string): void {
    this.last.delete(key);
  }
  async close(): Promise<void> {}
}

export const baseSpec = (): Record<string, unknown> => ({
  image: 'registry.example/duet:test-cpu',
  model: { name: 'tiny', source: { pvc: { claimName: 'models', subPath: 'tiny' } }, engine: { blockSize: 16 } },
  prefill: { replicas: 1, minReplicas: 0, maxReplicas: 4 },
  decode: { replicas: 2, minReplicas: 1, maxReplicas: 8 },
  nats: { url: 'nats://nats.duet:4222' },
});

export interface Scenario {
  double: KubeDouble;
  operator: Operator;
  publisher: RecordingPublisher;
  apps: AppsV1Api;
  custom: CustomObjectsApi;
  core: CoreV1Api;
  close(): Promise<void>;
}

export async function startScenario(opts: { double?: KubeDoubleOptions; operator?: Partial<OperatorOptions>; start?: boolean } = {}): Promise<Scenario> {
  const double = await KubeDouble.start(opts.double);
  const publisher = new RecordingPublisher();
  const operator = new Operator(
    double.kubeConfig(NS, 'operator'),
    { identity: 'op-1', controller: { namespace: NS, concurrency: 2, backoffBaseMs: 20, backoffMaxMs: 500, resyncMs: 60_000, publishTimeoutMs: 1000 }, ...opts.operator },
    { logger, publisher },
  );
  if (opts.start !== false) await operator.start();
  const kc = double.kubeConfig(NS, 'tester');
  return {
    double,
    operator,
    publisher,
    apps: kc.makeApiClient(AppsV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    core: kc.makeApiClient(CoreV1Api),
    async close() {
      await operator.stop();
      await double.close();
    },
  };
}

const crd = (plural: string) => ({ group: 'duet.dev', version: 'v1alpha1', namespace: NS, plural });

export interface DuetServiceObj extends KubernetesObject {
  spec: Record<string, unknown>;
  status?: DuetServiceStatus;
}

export const createDuetService = (s: Scenario, name: string, spec = baseSpec()) =>
  s.custom.createNamespacedCustomObject({ ...crd('duetservices'), body: { apiVersion: 'duet.dev/v1alpha1', kind: 'DuetService', metadata: { name }, spec } }) as Promise<DuetServiceObj>;
export const getDuetService = (s: Scenario, name: string) => s.custom.getNamespacedCustomObject({ ...crd('duetservices'), name }) as Promise<DuetServiceObj>;
export const patchDuetService = (s: Scenario, name: string, body: unknown) => s.custom.patchNamespacedCustomObject({ ...crd('duetservices'), name, body }, mergePatch) as Promise<DuetServiceObj>;
export const deleteDuetService = (s: Scenario, name: string) => s.custom.deleteNamespacedCustomObject({ ...crd('duetservices'), name });

export const createPolicy = (s: Scenario, plural: 'routingpolicies' | 'scalingpolicies', name: string, spec: unknown) =>
  s.custom.createNamespacedCustomObject({ ...crd(plural), body: { apiVersion: 'duet.dev/v1alpha1', kind: plural === 'routingpolicies' ? 'RoutingPolicy' : 'ScalingPolicy', metadata: { name }, spec } }) as Promise<KubernetesObject>;
export const getPolicy = (s: Scenario, plural: 'routingpolicies' | 'scalingpolicies', name: string) =>
  s.custom.getNamespacedCustomObject({ ...crd(plural), name }) as Promise<KubernetesObject & { spec: unknown; status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } }>;
export const patchPolicy = (s: Scenario, plural: 'routingpolicies' | 'scalingpolicies', name: string, body: unknown) => s.custom.patchNamespacedCustomObject({ ...crd(plural), name, body }, mergePatch);

export const condition = (o: DuetServiceObj | undefined, type: string) => o?.status?.conditions?.find((c) => c.type === type);

export async function deployment(s: Scenario, name: string): Promise<V1Deployment | undefined> {
  try {
    return await s.apps.readNamespacedDeployment({ namespace: NS, name });
  } catch {
    return undefined;
  }
}

/** Waits until the DuetService reports Ready=True for its current generation. */
export async function untilReady(s: Scenario, name: string): Promise<DuetServiceObj> {
  return until(`${name} Ready`, async () => {
    const o = await getDuetService(s, name);
    return o.status?.observedGeneration === o.metadata?.generation && condition(o, 'Ready')?.status === 'True' ? o : undefined;
  });
}

/** Event reasons recorded for an object, oldest first. */
export async function eventReasons(s: Scenario, name: string): Promise<string[]> {
  const list = await s.core.listNamespacedEvent({ namespace: NS });
  return list.items
    .filter((e) => e.involvedObject.name === name)
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))
    .map((e) => e.reason ?? '');
}
