/**
 * End to end, a RoutingPolicy change reaches a running router without a restart: the operator
 * (real NATS publisher) reconciles against the API server double; a real Router starts from the
 * policy file the operator wrote into the ConfigMap (what the kubelet would mount), with file
 * polling off so only NATS can change it; then the RoutingPolicy is edited and the router's live
 * policy follows.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@duet/core';
import { Router, resolveRouterConfig } from '@duet/router';
import { uniqueId, withServers } from '@duet/testkit';
import { Operator } from '../src/controller/operator.ts';
import { NS, baseSpec, createDuetService, createPolicy, logger, patchPolicy, until, type Scenario } from './controller-fixtures.ts';
import { KubeDouble } from './support/kube-double/index.ts';
import { AppsV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';

describe('RoutingPolicy → running router (real NATS)', () => {
  let router: Router | undefined;
  let operator: Operator;
  let double: KubeDouble;
  let dir: string;
  // Registered before withServers: stops run while NATS is still up.
  after(async () => {
    await router?.stop();
    await operator.stop();
    await double.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const servers = withServers();
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'duet-policy-'));
    double = await KubeDouble.start();
    operator = new Operator(double.kubeConfig(NS, 'operator'), { identity: 'op', controller: { namespace: NS, backoffBaseMs: 20, resyncMs: 60_000 } }, { logger });
    await operator.start();
  });

  test('a policy edit is applied by the router live', async () => {
    const kc = double.kubeConfig(NS, 'tester');
    const s = { custom: kc.makeApiClient(CustomObjectsApi), core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api) } as Scenario;
    const name = uniqueId('live');
    await createPolicy(s, 'routingpolicies', 'live', { disaggregation: { mode: 'auto', localPrefillThresholdTokens: 64 } });
    await createDuetService(s, name, { ...baseSpec(), nats: { url: servers.nats.url }, router: { policyRef: { name: 'live' } } });

    // The kubelet's part: the ConfigMap's policy.json as a file in the router pod.
    const cm = await until('policy ConfigMap', () => s.core.readNamespacedConfigMap({ namespace: NS, name: `${name}-routing-policy` }).catch(() => undefined));
    const file = join(dir, 'policy.json');
    writeFileSync(file, cm.data?.['policy.json'] ?? '');
    // The router pod: same subject prefix as the operator gave it (DUET_SUBJECT_PREFIX in <name>-config).
    const shared = await s.core.readNamespacedConfigMap({ namespace: NS, name: `${name}-config` });
    const config = resolveRouterConfig({ natsUrl: servers.nats.url, subjectPrefix: shared.data?.DUET_SUBJECT_PREFIX, policy: file, policyWatchMs: 0 });
    router = new Router(config, { defaultMetrics: false, logger: createLogger('router', { level: 'silent' }) });
    await router.start();
    assert.equal(router.policy.current.name, 'live');
    assert.equal(router.policy.current.disaggregation.localPrefillThresholdTokens, 64);

    await patchPolicy(s, 'routingpolicies', 'live', { spec: { disaggregation: { localPrefillThresholdTokens: 256 } } });
    await until('the router applied generation 2', () => router!.policy.current.disaggregation.localPrefillThresholdTokens === 256);
    assert.equal(router.policy.current.generation, 2);
  });
});
