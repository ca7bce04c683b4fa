/**
 * The API server double, driven through @kubernetes/client-node exactly as the operator drives it:
 * typed clients, CustomObjectsApi, KubernetesObjectApi (discovery) and informers. Each test states
 * the server behaviour it pins down.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  makeInformer,
  setHeaderOptions,
  type KubernetesObject,
  type V1Deployment,
} from '@kubernetes/client-node';
import { KubeDouble } from './support/kube-double/index.ts';

const ns = 'default';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const deployment = (name: string): V1Deployment => ({
  metadata: { name, labels: { app: name } },
  spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'img:1' }] } } },
});
const codeOf = async (p: Promise<unknown>): Promise<number | undefined> =>
  p.then(
    () => undefined,
    (e: { code?: number }) => e.code,
  );

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('kube API server double', () => {
  let double: KubeDouble;
  let apps: AppsV1Api;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;

  before(async () => {
    double = await KubeDouble.start({ workloads: 'manual' });
    const kc = double.kubeConfig();
    apps = kc.makeApiClient(AppsV1Api);
    core = kc.makeApiClient(CoreV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
  });
  after(async () => double.close());

  test('create assigns uid, generation 1 and a resourceVersion; a second create is 409 AlreadyExists', async () => {
    const d = await apps.createNamespacedDeployment({ namespace: ns, body: deployment('a') });
    assert.equal(d.metadata?.generation, 1);
    assert.match(d.metadata?.uid ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(d.spec?.replicas, 1, 'spec.replicas defaults to 1');
    assert.equal(await codeOf(apps.createNamespacedDeployment({ namespace: ns, body: deployment('a') })), 409);
    assert.equal(await codeOf(apps.readNamespacedDeployment({ namespace: ns, name: 'missing' })), 404);
  });

  test('update with a stale resourceVersion is 409; generation grows on spec changes only', async () => {
    const d = await apps.createNamespacedDeployment({ namespace: ns, body: deployment('b') });
    const labelled = await apps.patchNamespacedDeployment({ namespace: ns, name: 'b', body: { metadata: { labels: { app: 'b', extra: 'x' } } } }, mergePatch);
    assert.equal(labelled.metadata?.generation, 1, 'a label change is not a spec change');
    assert.equal(await codeOf(apps.replaceNamespacedDeployment({ namespace: ns, name: 'b', body: d })), 409, 'd carries the pre-label resourceVersion');
    const scaled = await apps.replaceNamespacedDeployment({ namespace: ns, name: 'b', body: { ...labelled, spec: { ...labelled.spec!, replicas: 3 } } });
    assert.equal(scaled.metadata?.generation, 2);
    const same = await apps.replaceNamespacedDeployment({ namespace: ns, name: 'b', body: scaled });
    assert.equal(same.metadata?.resourceVersion, scaled.metadata?.resourceVersion, 'an update that changes nothing is a no-op');
  });

  test('merge patch and JSON patch (the client default); a merge patch carrying a stale resourceVersion is 409', async () => {
    const d = await apps.createNamespacedDeployment({ namespace: ns, body: deployment('c') });
    const p1 = await apps.patchNamespacedDeployment({ namespace: ns, name: 'c', body: [{ op: 'replace', path: '/spec/replicas', value: 4 }] });
    assert.equal(p1.spec?.replicas, 4);
    const p2 = await apps.patchNamespacedDeployment({ namespace: ns, name: 'c', body: { spec: { replicas: 2 }, metadata: { annotations: { k: 'v' } } } }, mergePatch);
    assert.deepEqual([p2.spec?.replicas, p2.metadata?.annotations?.k], [2, 'v']);
    const stale = { metadata: { resourceVersion: d.metadata?.resourceVersion }, spec: { replicas: 9 } };
    assert.equal(await codeOf(apps.patchNamespacedDeployment({ namespace: ns, name: 'c', body: stale }, mergePatch)), 409);
    const failedTest = [{ op: 'test', path: '/spec/replicas', value: 7 }];
    assert.equal(await codeOf(apps.patchNamespacedDeployment({ namespace: ns, name: 'c', body: failedTest })), 422);
    const selector = { spec: { selector: { matchLabels: { app: 'other' } } } };
    assert.equal(await codeOf(apps.patchNamespacedDeployment({ namespace: ns, name: 'c', body: selector }, mergePatch)), 422, 'selector is immutable');
  });

  test('status subresource: the main resource cannot change status, /status changes only status', async () => {
    await apps.createNamespacedDeployment({ namespace: ns, body: { ...deployment('d'), status: { readyReplicas: 5 } } });
    const viaMain = await apps.patchNamespacedDeployment({ namespace: ns, name: 'd', body: { status: { readyReplicas: 3 } } }, mergePatch);
    assert.equal(viaMain.status?.readyReplicas, undefined);
    const viaStatus = await apps.patchNamespacedDeploymentStatus({ namespace: ns, name: 'd', body: { status: { readyReplicas: 1 }, spec: { replicas: 8 } } }, mergePatch);
    assert.deepEqual([viaStatus.status?.readyReplicas, viaStatus.spec?.replicas, viaStatus.metadata?.generation], [1, 1, 1]);
  });

  test('scale subresource reads and writes spec.replicas', async () => {
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('e') });
    const s = await apps.readNamespacedDeploymentScale({ namespace: ns, name: 'e' });
    assert.deepEqual([s.spec?.replicas, s.status?.selector], [1, 'app=e']);
    await apps.replaceNamespacedDeploymentScale({ namespace: ns, name: 'e', body: { ...s, spec: { replicas: 5 } } });
    const d = await apps.readNamespacedDeployment({ namespace: ns, name: 'e' });
    assert.deepEqual([d.spec?.replicas, d.metadata?.generation], [5, 2]);
    assert.equal(await codeOf(apps.replaceNamespacedDeploymentScale({ namespace: ns, name: 'e', body: { ...s, spec: { replicas: 2 } } })), 409, 's is stale');
  });

  test('finalizers hold a deleted object; emptying them deletes it and garbage-collects what it owns', async () => {
    const body = { apiVersion: 'duet.dev/v1alpha1', kind: 'DuetService', metadata: { name: 'svc', finalizers: ['duet.dev/cleanup'] }, spec: {} };
    const owner = (await custom.createNamespacedCustomObject({ group: 'duet.dev', version: 'v1alpha1', namespace: ns, plural: 'duetservices', body })) as KubernetesObject;
    const ownerRef = { apiVersion: 'duet.dev/v1alpha1', kind: 'DuetService', name: 'svc', uid: owner.metadata!.uid!, controller: true };
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'svc-config', ownerReferences: [ownerRef] }, data: { a: '1' } } });
    await custom.deleteNamespacedCustomObject({ group: 'duet.dev', version: 'v1alpha1', namespace: ns, plural: 'duetservices', name: 'svc' });
    const held = (await custom.getNamespacedCustomObject({ group: 'duet.dev', version: 'v1alpha1', namespace: ns, plural: 'duetservices', name: 'svc' })) as KubernetesObject;
    assert.ok(held.metadata?.deletionTimestamp, 'deletionTimestamp set, object kept');
    assert.ok(await core.readNamespacedConfigMap({ namespace: ns, name: 'svc-config' }));
    await custom.patchNamespacedCustomObject(
      { group: 'duet.dev', version: 'v1alpha1', namespace: ns, plural: 'duetservices', name: 'svc', body: { metadata: { finalizers: null } } },
      mergePatch,
    );
    const gone = custom.getNamespacedCustomObject({ group: 'duet.dev', version: 'v1alpha1', namespace: ns, plural: 'duetservices', name: 'svc' });
    assert.equal(await codeOf(gone), 404);
    assert.equal(await codeOf(core.readNamespacedConfigMap({ namespace: ns, name: 'svc-config' })), 404, 'owned ConfigMap collected');
  });

  test('Leases: optimistic concurrency decides between two writers', async () => {
    const coord = double.kubeConfig().makeApiClient(CoordinationV1Api);
    const lease = await coord.createNamespacedLease({ namespace: ns, body: { metadata: { name: 'l' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } } });
    await coord.replaceNamespacedLease({ namespace: ns, name: 'l', body: { ...lease, spec: { ...lease.spec, holderIdentity: 'b' } } });
    assert.equal(await codeOf(coord.replaceNamespacedLease({ namespace: ns, name: 'l', body: { ...lease, spec: { ...lease.spec, holderIdentity: 'c' } } })), 409);
    assert.equal((await coord.readNamespacedLease({ namespace: ns, name: 'l' })).spec?.holderIdentity, 'b');
  });

  test('discovery lets KubernetesObjectApi resolve kinds to paths', async () => {
    const api = KubernetesObjectApi.makeApiClient(double.kubeConfig());
    const created = await api.create({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'pdb', namespace: ns }, spec: { maxUnavailable: 1 } } as KubernetesObject);
    assert.equal(created.metadata?.name, 'pdb');
    const read = await api.read({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'pdb', namespace: ns } });
    assert.equal(read.metadata?.uid, created.metadata?.uid);
  });

  test('a label-selected watch sees an object leave the selection as DELETED and come back as ADDED', async () => {
    const informer = makeInformer(double.kubeConfig(), `/api/v1/namespaces/${ns}/configmaps`, () => core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'sel=yes' }), 'sel=yes');
    const seen: string[] = [];
    informer.on('add', (o) => seen.push(`add ${o.metadata?.name}`));
    informer.on('delete', (o) => seen.push(`delete ${o.metadata?.name}`));
    informer.on('error', () => undefined);
    await informer.start();
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'mover', labels: { sel: 'yes' } } } });
    await core.patchNamespacedConfigMap({ namespace: ns, name: 'mover', body: { metadata: { labels: { sel: 'no' } } } }, mergePatch);
    await core.patchNamespacedConfigMap({ namespace: ns, name: 'mover', body: { metadata: { labels: { sel: 'yes' } } } }, mergePatch);
    await until('three transitions', () => seen.length >= 3);
    assert.deepEqual(seen, ['add mover', 'delete mover', 'add mover']);
    await informer.stop();
  });

  test('an informer lists, watches, resumes after a dropped watch and relists after 410 Gone', async () => {
    const path = `/api/v1/namespaces/${ns}/configmaps`;
    const informer = makeInformer(double.kubeConfig(), path, () => core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'inf=1' }), 'inf=1');
    const seen: string[] = [];
    informer.on('add', (o) => seen.push(`add ${o.metadata?.name}`));
    informer.on('update', (o) => seen.push(`update ${o.metadata?.name} ${o.data?.v}`));
    informer.on('delete', (o) => seen.push(`delete ${o.metadata?.name}`));
    const cm = (name: string, v: string) => ({ metadata: { name, labels: { inf: '1' } }, data: { v } });
    await core.createNamespacedConfigMap({ namespace: ns, body: cm('w1', '0') });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'other' }, data: {} } });
    await informer.start();
    assert.deepEqual(seen, ['add w1'], 'the list fills the cache; the label selector excludes "other"');

    await core.replaceNamespacedConfigMap({ namespace: ns, name: 'w1', body: cm('w1', '1') });
    await until('the watched update', () => seen.includes('update w1 1'));

    // A dropped watch resumes from the last resourceVersion: no relist.
    const lists = () => double.requests.filter((r) => r.verb === 'list' && r.resource === 'configmaps').length;
    const listsBefore = lists();
    double.closeWatches();
    await core.replaceNamespacedConfigMap({ namespace: ns, name: 'w1', body: cm('w1', '2') });
    await until('the update made while the watch was down', () => seen.includes('update w1 2'));
    assert.equal(lists(), listsBefore);

    // Park the next watch, change things, compact the watch cache: the parked watch gets 410 and
    // the informer relists, seeing the object created and the one deleted while it was away.
    let release!: () => void;
    const parked = new Promise<void>((r) => (release = r));
    const remove = double.intercept((info) => (info.verb === 'watch' && info.def.plural === 'configmaps' ? parked : undefined));
    double.closeWatches();
    await core.createNamespacedConfigMap({ namespace: ns, body: cm('w2', '0') });
    await core.deleteNamespacedConfigMap({ namespace: ns, name: 'w1' });
    double.compact();
    remove();
    release();
    await until('relist after 410', () => seen.includes('add w2') && seen.includes('delete w1'));
    assert.equal(lists(), listsBefore + 1, 'exactly one relist');
    assert.deepEqual(informer.list().map((o) => o.metadata?.name), ['w2']);
    informer.on('error', () => undefined);
    await informer.stop();
  });
});
