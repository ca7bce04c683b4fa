/**
 * KubePoolAutoscaler, the operator's per-DuetService autoscaler (controller/autoscale.ts seam),
 * against the API server double and a real nats-server with wall-clock ticks (1 s interval):
 *
 *   ensure(target)           → a loop on the service's subject prefix; no opinion yet (undefined)
 *   pushed load: 2 × 64 seqs → decode Deployment scaled 2 → 4 through the scale subresource,
 *                              desiredReplicas = 4, the service requeued
 *   release                  → no more plans (twice the load changes nothing); no opinion again
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { Subjects, WorkerRole, WorkerState, createLogger, wire } from '@duet/core';
import { uniqueId, withServers } from '@duet/testkit';
import { connect, type NatsConnection } from 'nats';
import { KubePoolAutoscaler } from '../src/autoscaler/index.ts';
import { CRD_EXAMPLES } from '../src/crds/examples.ts';
import { duetServiceSpecSchema } from '../src/crds/index.ts';
import type { AutoscaleTarget } from '../src/controller/autoscale.ts';
import { parseScalingPolicySpec } from '../src/planner/index.ts';
import { KubeDouble } from './support/kube-double/index.ts';

const ns = 'duet';
const silent = createLogger('test', { level: 'silent' });
let double: KubeDouble | undefined;
let nc: NatsConnection | undefined;
let pool: KubePoolAutoscaler | undefined;
after(async () => {
  await pool?.close();
  await nc?.drain();
  await double?.close();
});
const servers = withServers();
let apps: AppsV1Api;
let core: CoreV1Api;

before(async () => {
  double = await KubeDouble.start({ workloads: 'manual' });
  const kc = double.kubeConfig(ns);
  [apps, core] = [kc.makeApiClient(AppsV1Api), kc.makeApiClient(CoreV1Api)];
  for (const [p, replicas] of [['prefill', 1], ['decode', 2]] as const) {
    const labels = { 'duet.dev/pool': p };
    await apps.createNamespacedDeployment({ namespace: ns, body: { metadata: { name: `llama-${p}` }, spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'w', image: 'duet:1' }] } } } } });
  }
});

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('one loop per service: scales its Deployments from pushed load and requeues the service', async () => {
  nc = await connect({ servers: servers.nats.url });
  const prefix = `${uniqueId('t')}.duet`;
  const subjects = new Subjects(prefix);
  let requeues = 0;
  const target = (): AutoscaleTarget => ({
    key: `${ns}/llama`,
    namespace: ns,
    name: 'llama',
    uid: 'uid-1',
    natsUrl: servers.nats.url,
    subjectPrefix: prefix,
    spec: duetServiceSpecSchema.parse(CRD_EXAMPLES.DuetService.spec),
    policy: parseScalingPolicySpec({ intervalSeconds: 1 }),
    pools: { prefill: { deployment: 'llama-prefill', replicas: 1, readyReplicas: 1 }, decode: { deployment: 'llama-decode', replicas: 2, readyReplicas: 2 } },
    podSelectors: { prefill: 'duet.dev/pool=prefill', decode: 'duet.dev/pool=decode' },
    requeue: () => void requeues++,
  });
  pool = new KubePoolAutoscaler({ apps, core, logger: silent });
  pool.ensure(target());
  assert.equal(pool.desiredReplicas(`${ns}/llama`, 'decode'), undefined, 'no opinion before a plan');

  const push = (seq: bigint, runningSeqs: number): void => {
    for (const id of ['llama-decode-a', 'llama-decode-b']) {
      nc!.publish(subjects.workerHeartbeat(id), wire.workerHeartbeat.encode({ worker: { workerId: id, role: WorkerRole.DECODE }, seq, state: WorkerState.READY, intervalMs: 1000 }));
      nc!.publish(subjects.load(id), wire.loadReport.encode({ workerId: id, seq, runningSeqs, kvBlocksUsed: 10, kvBlocksFree: 90 }));
    }
  };
  let seq = 1n;
  await until('the decode Deployment scaled to 4', async () => {
    push(seq++, 64);
    return (await apps.readNamespacedDeploymentScale({ name: 'llama-decode', namespace: ns })).spec?.replicas === 4;
  });
  assert.equal(pool.desiredReplicas(`${ns}/llama`, 'decode'), 4);
  assert.ok(requeues >= 1, 'the service was requeued after the scale change');
  assert.equal(pool.desiredReplicas('other/svc', 'decode'), undefined);

  const scaleWrites = (): number => double!.writes('deployments').length;
  pool.ensure(target());
  await pool.release(`${ns}/llama`);
  const writesAtRelease = scaleWrites();
  push(seq++, 128); // would ask for 8 if anything still planned
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(scaleWrites(), writesAtRelease, 'no plan after release');
  assert.equal(pool.desiredReplicas(`${ns}/llama`, 'decode'), undefined);
});
