/**
 * Reconcile scenarios against the API server double (Deployments become ready as a healthy
 * rollout would): create → children with owner references; a second pass writes nothing; spec
 * change → rollout of exactly what changed; deletion → finalizer, then garbage collection.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NS,
  baseSpec,
  condition,
  createDuetService,
  deleteDuetService,
  deployment,
  eventReasons,
  getDuetService,
  patchDuetService,
  startScenario,
  until,
  untilReady,
  type Scenario,
} from './controller-fixtures.ts';

const CHILDREN = {
  deployments: ['llama-prefill', 'llama-decode', 'llama-router', 'llama-gateway'],
  services: ['llama-gateway', 'llama-metrics'],
  configmaps: ['llama-config'],
  poddisruptionbudgets: ['llama-prefill', 'llama-decode', 'llama-router', 'llama-gateway'],
};

describe('DuetService lifecycle', () => {
  let s: Scenario;
  before(async () => {
    s = await startScenario();
  });
  after(async () => s.close());

  test('create → every child appears, owned by the DuetService, and the service becomes Ready', async () => {
    const created = await createDuetService(s, 'llama');
    const svc = await untilReady(s, 'llama');
    assert.deepEqual(svc.metadata?.finalizers, ['duet.dev/finalizer']);
    for (const [plural, names] of Object.entries(CHILDREN)) {
      const items = s.double.store.list(s.double.store.table.lookup(plural === 'deployments' ? 'apps' : plural === 'poddisruptionbudgets' ? 'policy' : '', 'v1', plural)!, NS).items;
      assert.deepEqual(items.map((o) => o.metadata.name).sort(), [...names].sort(), plural);
      for (const o of items) {
        assert.deepEqual(o.metadata.ownerReferences, [{ apiVersion: 'duet.dev/v1alpha1', kind: 'DuetService', name: 'llama', uid: created.metadata?.uid, controller: true, blockOwnerDeletion: true }]);
        assert.equal(o.metadata.labels?.['app.kubernetes.io/instance'], 'llama');
        assert.equal(o.metadata.labels?.['app.kubernetes.io/managed-by'], 'duet-operator');
      }
    }
    const decode = await deployment(s, 'llama-decode');
    assert.equal(decode?.spec?.replicas, 2);
    assert.equal(decode?.spec?.template.metadata?.labels?.['duet.dev/pool'], 'decode');
    assert.deepEqual(decode?.spec?.template.spec?.containers[0].args, ['decode', '--transport', 'nats']);
    // Status: every component's replicas, the endpoint, the three conditions.
    assert.deepEqual(
      { prefill: svc.status?.prefill, decode: svc.status?.decode, router: svc.status?.router, gateway: svc.status?.gateway, endpoint: svc.status?.endpoint },
      {
        prefill: { desiredReplicas: 1, readyReplicas: 1 },
        decode: { desiredReplicas: 2, readyReplicas: 2 },
        router: { desiredReplicas: 1, readyReplicas: 1 },
        gateway: { desiredReplicas: 1, readyReplicas: 1 },
        endpoint: 'http://llama-gateway.duet.svc',
      },
    );
    assert.deepEqual(
      svc.status?.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}`),
      ['Ready=True/AllComponentsReady', 'Progressing=False/RolloutComplete', 'Degraded=False/AsExpected'],
    );
    const reasons = await eventReasons(s, 'llama');
    assert.equal(reasons.filter((r) => r === 'Created').length, 11, 'one Created event per child');
    assert.ok(reasons.includes('Ready'));
  });

  test('a reconcile of an unchanged service writes nothing', async () => {
    await untilReady(s, 'llama');
    const before = s.double.requests.length;
    // An annotation is not a spec change, but it triggers a full reconcile pass.
    await patchDuetService(s, 'llama', { metadata: { annotations: { poke: '1' } } });
    await until('the pass triggered by the annotation', () => s.double.requests.slice(before).some((r) => r.user === 'operator' && r.resource === 'deployments' && r.verb === 'get'));
    await new Promise((r) => setTimeout(r, 300));
    const writes = s.double.requests.slice(before).filter((r) => r.user === 'operator' && ['create', 'update', 'patch', 'delete'].includes(r.verb));
    assert.deepEqual(writes, []);
  });

  test('spec change → only the affected Deployment rolls out; status follows the new generation', async () => {
    const gen1 = await untilReady(s, 'llama');
    const router1 = await deployment(s, 'llama-router');
    const decode1 = await deployment(s, 'llama-decode');
    s.double.workloads.stalled.add(`${NS}/llama-decode`);
    await patchDuetService(s, 'llama', { spec: { decode: { image: 'registry.example/duet:test-gpu', replicas: 3 } } });
    // While decode cannot become ready: Progressing, not Ready.
    const rolling = await until('Progressing', async () => {
      const o = await getDuetService(s, 'llama');
      return o.status?.observedGeneration === (gen1.metadata?.generation ?? 0) + 1 && condition(o, 'Progressing')?.status === 'True' ? o : undefined;
    });
    assert.equal(condition(rolling, 'Ready')?.reason, 'ComponentsNotReady');
    assert.match(condition(rolling, 'Ready')?.message ?? '', /decode [0-2]\/3 ready/);
    const decode2 = await deployment(s, 'llama-decode');
    assert.equal(decode2?.spec?.template.spec?.containers[0].image, 'registry.example/duet:test-gpu');
    assert.equal(decode2?.spec?.replicas, 3);
    assert.equal(decode2?.metadata?.generation, (decode1?.metadata?.generation ?? 0) + 1);
    assert.equal((await deployment(s, 'llama-router'))?.metadata?.resourceVersion, router1?.metadata?.resourceVersion, 'router untouched');
    // The rollout finishes.
    s.double.workloads.stalled.delete(`${NS}/llama-decode`);
    s.double.workloads.refresh();
    const done = await untilReady(s, 'llama');
    assert.deepEqual(done.status?.decode, { desiredReplicas: 3, readyReplicas: 3 });
    assert.ok((await eventReasons(s, 'llama')).includes('NotReady'));
  });

  test('a shared setting (the NATS URL) rolls every component through the config hash', async () => {
    await untilReady(s, 'llama');
    const hashes = async () => Promise.all(['prefill', 'decode', 'router', 'gateway'].map(async (c) => (await deployment(s, `llama-${c}`))?.spec?.template.metadata?.annotations?.['duet.dev/config-hash']));
    const before = await hashes();
    await patchDuetService(s, 'llama', { spec: { nats: { url: 'nats://other:4222' } } });
    const after = await until('new config hash everywhere', async () => {
      const h = await hashes();
      return h.every((x, i) => x !== before[i]) ? h : undefined;
    });
    assert.equal(new Set(after).size, 1);
    const cm = await s.core.readNamespacedConfigMap({ namespace: NS, name: 'llama-config' });
    assert.equal(cm.data?.DUET_NATS_URL, 'nats://other:4222');
    assert.equal(cm.data?.DUET_SUBJECT_PREFIX, 'duet.duet.llama');
  });

  test('delete → the finalizer holds it until the operator cleaned up; then children are garbage-collected', async () => {
    await createDuetService(s, 'short', baseSpec());
    await untilReady(s, 'short');
    await deleteDuetService(s, 'short');
    await until('DuetService gone', async () => getDuetService(s, 'short').then(() => undefined, (e: { code?: number }) => e.code === 404));
    assert.equal(await deployment(s, 'short-decode'), undefined);
    assert.equal(await deployment(s, 'short-gateway'), undefined);
    assert.ok((await eventReasons(s, 'short')).includes('Deleting'));
    // The other service is untouched.
    assert.ok(await deployment(s, 'llama-decode'));
  });
});
