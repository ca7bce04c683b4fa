/**
 * KubeActuator against the in-repo API server double (real HTTP, the real client) and a real
 * nats-server. Workers are scripted control endpoints (the real WorkerControl) so the order of
 * events can be pinned:
 *
 *   shrink 3 → 2:  victim = least loaded pod (d-1)
 *                  1. d-1 annotated pod-deletion-cost = int32 min
 *                  2. d-1 asked to drain; it finishes its request
 *                  3. only then the scale subresource drops to 2
 *                  → a ReplicaSet removing the lowest-cost pod removes exactly d-1
 *   grow 2 → 4:    one scale patch, the target and the controller hook see 4
 *   conflict:      a 409 on the scale patch is retried on a fresh read
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AppsV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { create } from '@bufbuild/protobuf';
import { LoadReportSchema, WorkerHeartbeatSchema, WorkerRole, WorkerState, createLogger } from '@duet/core';
import { uniqueSubjects, withServers } from '@duet/testkit';
import { WorkerControl } from '@duet/worker';
import { connect, type NatsConnection } from 'nats';
import { DRAINED_POD_DELETION_COST, Fleet, KubeActuator, POD_DELETION_COST_ANNOTATION } from '../src/autoscaler/index.ts';
import { ApiError, KubeDouble } from './support/kube-double/index.ts';

const ns = 'duet';
const silent = createLogger('test', { level: 'silent' });
const events: string[] = [];

describe('KubeActuator', () => {
  let double: KubeDouble;
  let apps: AppsV1Api;
  let core: CoreV1Api;
  let nc: NatsConnection;
  const controls: WorkerControl[] = [];
  const subjects = uniqueSubjects();
  const fleet = new Fleet({ missedBeats: 3, sloWindowMs: 15_000 });
  const held = new Map<string, number>();
  const finishers = new Map<string, () => void>();
  const scaled: Array<[string, number]> = [];
  let actuator: KubeActuator;

  after(async () => {
    controls.forEach((c) => c.stop());
    await nc?.drain();
    await double?.close();
  });
  const servers = withServers();

  before(async () => {
    double = await KubeDouble.start({ workloads: 'manual' });
    const kc = double.kubeConfig(ns);
    [apps, core] = [kc.makeApiClient(AppsV1Api), kc.makeApiClient(CoreV1Api)];
    for (const [pool, replicas] of [['prefill', 1], ['decode', 3]] as const) {
      const labels = { 'duet.dev/pool': pool, 'duet.dev/service': 'svc' };
      await apps.createNamespacedDeployment({ namespace: ns, body: { metadata: { name: `svc-${pool}` }, spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'w', image: 'duet:1' }] } } } } });
    }
    for (const id of ['d-0', 'd-1', 'd-2']) {
      await core.createNamespacedPod({ namespace: ns, body: { metadata: { name: id, labels: { 'duet.dev/pool': 'decode', 'duet.dev/service': 'svc' } }, spec: { containers: [{ name: 'w', image: 'duet:1' }] } } });
    }
    double.intercept((info) => {
      if (info.verb === 'patch') events.push(`patch ${info.def.plural}${info.subresource ? '/' + info.subresource : ''} ${info.name}`);
    });
  });

  test('setup: three decode workers with loads 4, 1, 2 serving control requests', async () => {
    nc = await connect({ servers: servers.nats.url });
    for (const [i, id] of ['d-0', 'd-1', 'd-2'].entries()) {
      fleet.onHeartbeat(create(WorkerHeartbeatSchema, { worker: { workerId: id, role: WorkerRole.DECODE }, seq: 1n, state: WorkerState.READY, intervalMs: 1000 }), Date.now());
      fleet.onLoad(create(LoadReportSchema, { workerId: id, seq: 1n, runningSeqs: [4, 1, 2][i] }));
      held.set(id, 1);
      let state = WorkerState.READY;
      const c = new WorkerControl({
        nc,
        subjects,
        logger: silent,
        target: {
          workerId: id,
          state: () => state,
          inflight: () => held.get(id)!,
          drain: () => {
            state = WorkerState.DRAINING;
            events.push(`drain ${id}`);
            return new Promise<void>((resolve) => finishers.set(id, () => (held.set(id, 0), events.push(`drained ${id}`), resolve())));
          },
          cancelAll: () => undefined,
        },
      });
      c.start();
      controls.push(c);
    }
    await nc.flush();
    actuator = new KubeActuator(
      { apps, core, namespace: ns, deployments: { prefill: 'svc-prefill', decode: 'svc-decode' }, podSelectors: { prefill: 'duet.dev/pool=prefill', decode: 'duet.dev/pool=decode' }, onScaled: (pool, n) => scaled.push([pool, n]) },
      { nc, subjects, logger: silent, requesterId: 'test', fleet, drainTimeoutMs: () => 30_000, drainPollMs: 20 },
    );
    assert.deepEqual(await actuator.current(), { prefill: 1, decode: 3 });
  });

  test('shrink: annotate the least-loaded pod, drain it, then scale down', async () => {
    events.length = 0;
    await actuator.apply({ prefill: 1, decode: 2 });
    assert.deepEqual(actuator.draining(), ['d-1']);
    assert.deepEqual(await actuator.current(), { prefill: 1, decode: 2 }, 'the draining pod no longer counts');
    const t0 = Date.now();
    while (!events.includes('drain d-1')) {
      assert.ok(Date.now() - t0 < 5000, 'drain requested');
      await new Promise((r) => setTimeout(r, 10));
    }
    // Still holding its request: nothing scaled yet.
    await new Promise((r) => setTimeout(r, 150));
    assert.equal((await apps.readNamespacedDeploymentScale({ name: 'svc-decode', namespace: ns })).spec?.replicas, 3);
    finishers.get('d-1')!();
    const [result] = await actuator.settle();
    assert.equal(result.outcome, 'drained');
    assert.deepEqual(events, ['patch pods d-1', 'drain d-1', 'drained d-1', 'patch deployments/scale svc-decode']);
    const pod = await core.readNamespacedPod({ name: 'd-1', namespace: ns });
    assert.equal(pod.metadata?.annotations?.[POD_DELETION_COST_ANNOTATION], DRAINED_POD_DELETION_COST);
    assert.equal((await apps.readNamespacedDeploymentScale({ name: 'svc-decode', namespace: ns })).spec?.replicas, 2);
    assert.equal(actuator.target('decode'), 2);
    assert.deepEqual(scaled, [['decode', 2]]);
    // What the ReplicaSet controller does on the lower count: delete the lowest-cost pod.
    const pods = (await core.listNamespacedPod({ namespace: ns, labelSelector: 'duet.dev/pool=decode' })).items;
    const cost = (p: V1Pod): number => Number(p.metadata?.annotations?.[POD_DELETION_COST_ANNOTATION] ?? 0);
    assert.equal([...pods].sort((x, y) => cost(x) - cost(y))[0].metadata?.name, 'd-1');
  });

  test('grow: one scale patch to the new count', async () => {
    events.length = 0;
    scaled.length = 0;
    await actuator.apply({ prefill: 1, decode: 4 });
    assert.equal((await apps.readNamespacedDeploymentScale({ name: 'svc-decode', namespace: ns })).spec?.replicas, 4);
    assert.deepEqual(events, ['patch deployments/scale svc-decode']);
    assert.deepEqual(scaled, [['decode', 4]]);
  });

  test('a 409 on the scale patch is retried on a fresh read', async () => {
    let conflicts = 0;
    const remove = double.intercept((info) => {
      if (info.verb === 'patch' && info.subresource === 'scale' && conflicts === 0) {
        conflicts++;
        throw new ApiError(409, 'Conflict', 'the object has been modified');
      }
    });
    await actuator.apply({ prefill: 2, decode: 4 });
    remove();
    assert.equal(conflicts, 1);
    assert.equal((await apps.readNamespacedDeploymentScale({ name: 'svc-prefill', namespace: ns })).spec?.replicas, 2);
  });
});
