/**
 * Concurrency and failure scenarios: another writer changing a child between the operator's read
 * and its patch (409 → re-read and retry, both changes survive), a conflict on the DuetService
 * itself (back to the queue with backoff), a child that cannot be written for a while (Degraded,
 * retried until it can), a child that belongs to someone else (never overwritten).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from './support/kube-double/index.ts';
import {
  NS,
  baseSpec,
  condition,
  createDuetService,
  deployment,
  getDuetService,
  patchDuetService,
  startScenario,
  until,
  untilReady,
  type Scenario,
} from './controller-fixtures.ts';

describe('conflicts and failures', () => {
  let s: Scenario;
  before(async () => {
    s = await startScenario();
  });
  after(async () => s.close());

  const deploymentsDef = () => s.double.store.table.lookup('apps', 'v1', 'deployments')!;

  test('a child changed between read and patch: the 409 is retried and both changes survive', async () => {
    await createDuetService(s, 'race');
    await untilReady(s, 'race');
    let raced = false;
    const remove = s.double.intercept((info) => {
      if (raced || info.user !== 'operator' || info.verb !== 'patch' || info.def.plural !== 'deployments' || info.name !== 'race-decode') return;
      raced = true;
      // Another writer gets in first: the operator's patch now carries a stale resourceVersion.
      s.double.store.patch(deploymentsDef(), NS, 'race-decode', (cur) => ({ ...cur, metadata: { ...cur.metadata, annotations: { ...cur.metadata.annotations, 'other-writer': 'was-here' } } }));
    });
    const patchesBefore = s.double.writes('deployments').filter((r) => r.user === 'operator' && r.name === 'race-decode').length;
    await patchDuetService(s, 'race', { spec: { decode: { image: 'registry.example/duet:v2' } } });
    const d = await until('the new image', async () => {
      const dep = await deployment(s, 'race-decode');
      return dep?.spec?.template.spec?.containers[0].image === 'registry.example/duet:v2' ? dep : undefined;
    });
    remove();
    assert.ok(raced);
    assert.equal(d.metadata?.annotations?.['other-writer'], 'was-here', "the other writer's change is kept");
    const patches = s.double.writes('deployments').filter((r) => r.user === 'operator' && r.name === 'race-decode').length - patchesBefore;
    assert.equal(patches, 2, 'one 409, one successful retry');
    await untilReady(s, 'race');
  });

  test('a conflict on the DuetService itself (adding the finalizer) goes back to the queue and succeeds', async () => {
    let raced = false;
    const remove = s.double.intercept((info) => {
      if (raced || info.user !== 'operator' || info.verb !== 'patch' || info.def.plural !== 'duetservices' || info.name !== 'fin' || info.subresource) return;
      raced = true;
      const def = s.double.store.table.lookup('duet.dev', 'v1alpha1', 'duetservices')!;
      s.double.store.patch(def, NS, 'fin', (cur) => ({ ...cur, metadata: { ...cur.metadata, labels: { team: 'a' } } }));
    });
    await createDuetService(s, 'fin');
    const svc = await untilReady(s, 'fin');
    remove();
    assert.ok(raced);
    assert.deepEqual([svc.metadata?.finalizers, svc.metadata?.labels], [['duet.dev/finalizer'], { team: 'a' }]);
  });

  test('a child the API refuses for a while: Degraded/ApplyFailed, the rest applied, retried with backoff until it works', async () => {
    let refusing = true;
    let attempts = 0;
    const remove = s.double.intercept((info) => {
      if (info.user !== 'operator' || info.verb !== 'create' || info.def.plural !== 'services') return;
      if (refusing) {
        attempts++;
        throw new ApiError(500, 'InternalError', 'etcd is having a bad day');
      }
    });
    await createDuetService(s, 'flaky');
    const degraded = await until('Degraded', async () => {
      const o = await getDuetService(s, 'flaky');
      return condition(o, 'Degraded')?.status === 'True' ? o : undefined;
    });
    assert.equal(condition(degraded, 'Degraded')?.reason, 'ApplyFailed');
    assert.match(condition(degraded, 'Degraded')?.message ?? '', /Service flaky-gateway: .*etcd is having a bad day/);
    assert.ok(await deployment(s, 'flaky-decode'), 'children before and after the failing one are applied');
    assert.ok(s.double.store.get(s.double.store.table.lookup('policy', 'v1', 'poddisruptionbudgets')!, NS, 'flaky-decode'));
    await until('a few retries', () => attempts >= 3);
    refusing = false;
    remove();
    const ready = await untilReady(s, 'flaky');
    assert.equal(condition(ready, 'Degraded')?.status, 'False');
  });

  test('a child that exists and is not ours is never overwritten: Degraded/ChildConflict', async () => {
    await s.core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'clash-config' }, data: { mine: 'yes' } } });
    await createDuetService(s, 'clash', baseSpec());
    const o = await until('ChildConflict', async () => {
      const svc = await getDuetService(s, 'clash');
      return condition(svc, 'Degraded')?.reason === 'ChildConflict' ? svc : undefined;
    });
    assert.match(condition(o, 'Degraded')?.message ?? '', /ConfigMap "clash-config" already exists and is not controlled by this DuetService/);
    assert.equal(condition(o, 'Ready')?.status, 'False');
    const cm = await s.core.readNamespacedConfigMap({ namespace: NS, name: 'clash-config' });
    assert.deepEqual(cm.data, { mine: 'yes' });
  });
});
