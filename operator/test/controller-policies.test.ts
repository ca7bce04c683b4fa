/**
 * Policies: a referenced RoutingPolicy reaches the routers through the mounted ConfigMap and a
 * NATS PolicyUpdate, and a change to it reaches them without touching the router Deployment (no
 * restart); an invalid or missing policy degrades the service while routers keep the last good
 * one. A ScalingPolicy hands the worker replica counts over (a manual scale is kept) and sets the
 * drain grace period. An invalid DuetService spec is reported, not applied.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { policyAcceptance } from '../src/controller/policies.ts';
import {
  NS,
  baseSpec,
  condition,
  createDuetService,
  createPolicy,
  deployment,
  eventReasons,
  getDuetService,
  getPolicy,
  mergePatch,
  patchDuetService,
  patchPolicy,
  startScenario,
  until,
  untilReady,
  type Scenario,
} from './controller-fixtures.ts';

const policyDoc = async (s: Scenario, svc: string) => {
  const cm = await s.core.readNamespacedConfigMap({ namespace: NS, name: `${svc}-routing-policy` });
  return JSON.parse(cm.data?.['policy.json'] ?? 'null') as { kind: string; metadata: { name: string; generation: number }; spec: Record<string, unknown> };
};

describe('policies', () => {
  let s: Scenario;
  before(async () => {
    s = await startScenario();
  });
  after(async () => s.close());

  test('a RoutingPolicy reaches the routers (ConfigMap + NATS) and its changes do not restart them', async () => {
    await createPolicy(s, 'routingpolicies', 'fast', { disaggregation: { mode: 'auto', localPrefillThresholdTokens: 64 } });
    await createDuetService(s, 'pol', { ...baseSpec(), router: { policyRef: { name: 'fast' } } });
    await untilReady(s, 'pol');
    const doc1 = await policyDoc(s, 'pol');
    assert.deepEqual([doc1.kind, doc1.metadata, doc1.spec], ['RoutingPolicy', { name: 'fast', generation: 1 }, { disaggregation: { mode: 'auto', localPrefillThresholdTokens: 64 } }]);
    const router1 = await deployment(s, 'pol-router');
    const c = router1?.spec?.template.spec?.containers[0];
    assert.deepEqual(c?.args, ['router', '--policy', '/etc/duet/routing-policy/policy.json']);
    assert.deepEqual({ ...c?.volumeMounts?.find((m) => m.name === 'routing-policy') }, { name: 'routing-policy', mountPath: '/etc/duet/routing-policy', readOnly: true });
    const sent1 = s.publisher.sent.filter((p) => p.key === `${NS}/pol`);
    assert.deepEqual(sent1.map((p) => [p.subjectPrefix, p.natsUrl, p.doc.name, p.doc.generation]), [['duet.duet.pol', 'nats://nats.duet:4222', 'fast', 1]]);
    assert.equal(sent1[0].doc.documentJson, JSON.stringify(doc1));
    const accepted = await until('Accepted', async () => (await getPolicy(s, 'routingpolicies', 'fast')).status?.conditions?.find((x) => x.type === 'Accepted'));
    assert.deepEqual([accepted.status, accepted.reason], ['True', 'Valid']);

    // Change the policy: new generation in the ConfigMap and on NATS; the router Deployment is untouched.
    await patchPolicy(s, 'routingpolicies', 'fast', { spec: { disaggregation: { localPrefillThresholdTokens: 128 } } });
    const doc2 = await until('generation 2 in the ConfigMap', async () => ((await policyDoc(s, 'pol')).metadata.generation === 2 ? policyDoc(s, 'pol') : undefined));
    assert.equal((doc2.spec.disaggregation as { localPrefillThresholdTokens: number }).localPrefillThresholdTokens, 128);
    await until('generation 2 on NATS', () => s.publisher.sent.some((p) => p.key === `${NS}/pol` && p.doc.generation === 2));
    assert.equal((await deployment(s, 'pol-router'))?.metadata?.resourceVersion, router1?.metadata?.resourceVersion, 'no router restart');
  });

  test('an invalid RoutingPolicy: Accepted=False naming the field, the service Degraded, routers keep the last good one', async () => {
    await untilReady(s, 'pol');
    const published = s.publisher.sent.length;
    await patchPolicy(s, 'routingpolicies', 'fast', { spec: { disaggregation: { mode: 'sometimes' } } });
    const cond = await until('Accepted=False', async () => {
      const c = (await getPolicy(s, 'routingpolicies', 'fast')).status?.conditions?.find((x) => x.type === 'Accepted');
      return c?.status === 'False' ? c : undefined;
    });
    assert.match(cond.message, /spec\.disaggregation\.mode/);
    const svc = await until('Degraded', async () => {
      const o = await getDuetService(s, 'pol');
      return condition(o, 'Degraded')?.reason === 'InvalidRoutingPolicy' ? o : undefined;
    });
    assert.match(condition(svc, 'Degraded')?.message ?? '', /RoutingPolicy "fast": spec\.disaggregation\.mode/);
    assert.equal((await policyDoc(s, 'pol')).metadata.generation, 2, 'the ConfigMap keeps the last good policy');
    assert.equal(s.publisher.sent.length, published, 'nothing published');
    // Fixed again → published again, healthy again.
    await patchPolicy(s, 'routingpolicies', 'fast', { spec: { disaggregation: { mode: 'always' } } });
    await untilReady(s, 'pol');
    await until('generation 4 published', () => s.publisher.sent.some((p) => p.key === `${NS}/pol` && p.doc.generation === 4));
  });

  test('a missing RoutingPolicy degrades the service until it is created; removing the reference removes the policy ConfigMap', async () => {
    await createDuetService(s, 'later', { ...baseSpec(), router: { policyRef: { name: 'not-yet' } } });
    const o = await until('RoutingPolicyNotFound', async () => {
      const svc = await getDuetService(s, 'later');
      return condition(svc, 'Degraded')?.reason === 'RoutingPolicyNotFound' ? svc : undefined;
    });
    assert.equal(condition(o, 'Ready')?.status, 'False');
    assert.ok(await deployment(s, 'later-decode'), 'everything else is applied');
    await createPolicy(s, 'routingpolicies', 'not-yet', {});
    await untilReady(s, 'later');
    assert.equal((await policyDoc(s, 'later')).metadata.name, 'not-yet');
    await s.custom.patchNamespacedCustomObject(
      { group: 'duet.dev', version: 'v1alpha1', namespace: NS, plural: 'duetservices', name: 'later', body: { spec: { router: { policyRef: null } } } },
      mergePatch,
    );
    await until('policy ConfigMap removed', () => policyDoc(s, 'later').then(() => false, (e: { code?: number }) => e.code === 404));
    const router = await deployment(s, 'later-router');
    assert.deepEqual(router?.spec?.template.spec?.containers[0].args, ['router'], 'the router falls back to its built-in policy');
  });

  test('a failed NATS publish is a Warning and is retried; the ConfigMap path is unaffected', async () => {
    s.publisher.failing = true;
    await createPolicy(s, 'routingpolicies', 'retry', {});
    await createDuetService(s, 'pub', { ...baseSpec(), router: { policyRef: { name: 'retry' } } });
    await until('PolicyPublishFailed event', async () => (await eventReasons(s, 'pub')).includes('PolicyPublishFailed'));
    assert.equal((await policyDoc(s, 'pub')).metadata.name, 'retry');
    s.publisher.failing = false;
    await until('published after the retry', () => s.publisher.sent.some((p) => p.key === `${NS}/pub`), 20_000);
  });

  test('a ScalingPolicy hands replicas to the autoscaler side: a manual scale is kept, the grace period covers the drain', async () => {
    await createPolicy(s, 'scalingpolicies', 'elastic', { drainTimeoutSeconds: 120 });
    await createDuetService(s, 'auto', { ...baseSpec(), scalingPolicyRef: { name: 'elastic' } });
    await untilReady(s, 'auto');
    const decode = await deployment(s, 'auto-decode');
    assert.equal(decode?.spec?.template.spec?.terminationGracePeriodSeconds, 150);
    await s.apps.patchNamespacedDeploymentScale({ namespace: NS, name: 'auto-decode', body: { spec: { replicas: 5 } } }, mergePatch);
    await patchDuetService(s, 'auto', { spec: { gateway: { replicas: 2 } } });
    await until('gateway scaled', async () => (await deployment(s, 'auto-gateway'))?.spec?.replicas === 2);
    assert.equal((await deployment(s, 'auto-decode'))?.spec?.replicas, 5, 'the live count is kept under a ScalingPolicy');
    // Without one, the spec wins: a manual scale is undone.
    await untilReady(s, 'pol');
    await s.apps.patchNamespacedDeploymentScale({ namespace: NS, name: 'pol-decode', body: { spec: { replicas: 7 } } }, mergePatch);
    await until('pol-decode back to 2', async () => (await deployment(s, 'pol-decode'))?.spec?.replicas === 2);
    const accepted = await until('ScalingPolicy Accepted', async () => (await getPolicy(s, 'scalingpolicies', 'elastic')).status?.conditions?.[0]);
    assert.equal(accepted.status, 'True');
  });

  test('a setting the components cannot honour yet (a separate tokenizer folder) degrades the service, loudly', async () => {
    await createDuetService(s, 'tok', { ...baseSpec(), model: { name: 'tiny', source: { image: { path: '/app/models/demo' } }, tokenizer: { path: 'tok' } } });
    const o = await until('TokenizerPathUnsupported', async () => {
      const svc = await getDuetService(s, 'tok');
      return condition(svc, 'Degraded')?.reason === 'TokenizerPathUnsupported' ? svc : undefined;
    });
    assert.match(condition(o, 'Degraded')?.message ?? '', /spec\.model\.tokenizer\.path "tok" is not supported yet/);
  });

  test('an invalid DuetService spec is reported (path and message) and nothing is applied', async () => {
    const spec = { ...baseSpec(), decode: { replicas: 9, minReplicas: 1, maxReplicas: 4 } };
    await createDuetService(s, 'bad', spec);
    const o = await until('InvalidSpec', async () => {
      const svc = await getDuetService(s, 'bad');
      return condition(svc, 'Degraded')?.reason === 'InvalidSpec' ? svc : undefined;
    });
    assert.match(condition(o, 'Degraded')?.message ?? '', /spec\.decode\.replicas: replicas must lie within \[minReplicas, maxReplicas\]/);
    assert.deepEqual(
      o.status?.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}`),
      ['Ready=False/InvalidSpec', 'Progressing=False/InvalidSpec', 'Degraded=True/InvalidSpec'],
    );
    assert.equal(await deployment(s, 'bad-decode'), undefined);
    assert.ok((await eventReasons(s, 'bad')).includes('InvalidSpec'));
    await patchDuetService(s, 'bad', { spec: { decode: { replicas: 3 } } });
    await untilReady(s, 'bad');
  });
});

test('a RoutingPolicy is checked with the routers\' own compiler: a bad plugin parameter is refused with its path', () => {
  const obj = { metadata: { name: 'bad', generation: 1 }, spec: { decode: { scorers: [{ type: 'prefill-load', parameters: { scaleTokens: -1 } }] } } };
  const a = policyAcceptance('RoutingPolicy', obj);
  assert.equal(a.accepted, false);
  assert.match(a.message, /spec\.decode\.scorers\[0\]\.parameters\.scaleTokens/);
  const unknown = policyAcceptance('RoutingPolicy', { metadata: { name: 'u' }, spec: { prefill: { picker: { type: 'best' } } } });
  assert.match(unknown.message, /unknown picker "best"/);
});
