/**
 * Two and three operator replicas against one API server double, with leader election on a Lease
 * (short real timings: lease 3 s, renew deadline 1.5 s, retry 0.25 s). Every request carries its
 * replica's token, so the test sees who wrote what:
 *  - only the leader writes; the standby only reads the Lease;
 *  - a leader that stops (and releases) hands over at once;
 *  - a leader cut off from the API server stops writing after its renew deadline, and the next
 *    replica writes only after the lease has expired: their writes never interleave.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Operator } from '../src/controller/operator.ts';
import { ApiError, KubeDouble } from './support/kube-double/index.ts';
import { NS, RecordingPublisher, baseSpec, logger, mergePatch, until } from './controller-fixtures.ts';
import { CustomObjectsApi, type KubernetesObject } from '@kubernetes/client-node';

const timing = { leaseDurationMs: 3000, renewDeadlineMs: 1500, retryPeriodMs: 250 };
const WRITES = ['create', 'update', 'patch', 'delete'];

describe('leader election between operator replicas', () => {
  let double: KubeDouble;
  const operators: Operator[] = [];
  before(async () => {
    double = await KubeDouble.start();
  });
  after(async () => {
    for (const o of operators) await o.stop();
    await double.close();
  });

  const replica = (id: string) => {
    const op = new Operator(
      double.kubeConfig(NS, id),
      { identity: id, leaderElection: { namespace: NS, name: 'duet-operator', ...timing }, controller: { namespace: NS, backoffBaseMs: 20, resyncMs: 60_000 } },
      { logger, publisher: new RecordingPublisher() },
    );
    operators.push(op);
    return op;
  };
  const custom = () => double.kubeConfig(NS, 'tester').makeApiClient(CustomObjectsApi);
  const writesBy = (user: string, resource?: string) => double.requests.filter((r) => r.user === user && WRITES.includes(r.verb) && r.resource !== 'leases' && (!resource || r.resource === resource));
  const image = (name: string) => (double.store.get(double.store.table.lookup('apps', 'v1', 'deployments')!, NS, name).spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0].image;
  const setDecodeImage = (tag: string) =>
    custom().patchNamespacedCustomObject({ group: 'duet.dev', version: 'v1alpha1', namespace: NS, plural: 'duetservices', name: 'ha', body: { spec: { decode: { image: tag } } } }, mergePatch);

  test('only the leader writes; stopping it hands over at once', async () => {
    const a = replica('op-a');
    const b = replica('op-b');
    await a.start();
    await until('op-a leads', () => a.isLeader());
    await b.start();
    await custom().createNamespacedCustomObject({ group: 'duet.dev', version: 'v1alpha1', namespace: NS, plural: 'duetservices', body: { apiVersion: 'duet.dev/v1alpha1', kind: 'DuetService', metadata: { name: 'ha' }, spec: baseSpec() } as KubernetesObject });
    await until('children created by op-a', () => writesBy('op-a', 'deployments').length >= 4);
    assert.equal(b.isLeader(), false);
    assert.deepEqual(writesBy('op-b'), [], 'the standby wrote nothing');
    assert.ok(double.requests.some((r) => r.user === 'op-b' && r.resource === 'leases' && r.verb === 'get'), 'the standby keeps reading the Lease');

    await a.stop();
    await until('op-b leads', () => b.isLeader(), 2000); // released: well under a lease duration
    await setDecodeImage('registry.example/duet:b');
    await until('op-b applied the change', () => image('ha-decode') === 'registry.example/duet:b');
    assert.ok(writesBy('op-b', 'deployments').length > 0);
  });

  test('a leader cut off from the API server stops before the next one starts: writes never interleave', async () => {
    const b = operators.find((o) => o.isLeader())!;
    const c = replica('op-c');
    await c.start();
    await until('op-c has seen the Lease', () => double.requests.some((r) => r.user === 'op-c' && r.resource === 'leases'));
    // Cut op-b off: every Lease call fails from now on.
    const cutAt = double.requests.length;
    const remove = double.intercept((info) => {
      if (info.user === 'op-b' && info.def.plural === 'leases') throw new ApiError(503, 'ServiceUnavailable', 'network partition (test)');
    });
    await until('op-b steps down', () => !b.isLeader(), 5000);
    await setDecodeImage('registry.example/duet:c');
    await until('op-c applied the change', () => image('ha-decode') === 'registry.example/duet:c', 10_000);
    remove();
    const after = double.requests.slice(cutAt);
    const lastB = after.map((r, i) => (r.user === 'op-b' && WRITES.includes(r.verb) && r.resource !== 'leases' ? i : -1)).reduce((x, y) => Math.max(x, y), -1);
    const firstC = after.findIndex((r) => r.user === 'op-c' && WRITES.includes(r.verb) && r.resource !== 'leases');
    assert.ok(firstC >= 0, 'op-c wrote');
    assert.ok(lastB < firstC, `op-b's last write (#${lastB}) precedes op-c's first (#${firstC})`);
    assert.equal(c.isLeader(), true);
  });
});
