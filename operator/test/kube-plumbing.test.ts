/**
 * The rest of the Kubernetes plumbing: the operator's options (defaults from the downward API,
 * errors that name the flag and env), kubeconfig discovery errors, Event aggregation, and an
 * informer that survives a failed watch (ListWatch alone would stop for good).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import { ConfigError } from '@duet/core';
import { parseOperatorConfig } from '../src/controller/config.ts';
import { ManualClock } from '../src/kube/clock.ts';
import { KubeConfigError, loadKubeConfig } from '../src/kube/config.ts';
import { EventRecorder } from '../src/kube/events.ts';
import { ResourceInformer } from '../src/kube/informer.ts';
import { ApiError, KubeDouble } from './support/kube-double/index.ts';
import { logger, until } from './controller-fixtures.ts';

describe('operator options', () => {
  test('defaults: identity from POD_NAME, Lease namespace from POD_NAMESPACE, leader election on', () => {
    const c = parseOperatorConfig({ argv: [], env: { POD_NAME: 'duet-operator-7c9', POD_NAMESPACE: 'duet', DUET_WATCH_NAMESPACE: 'models' } });
    assert.deepEqual(
      [c.identity, c.leaseNamespace, c.watchNamespace, c.leaderElect, c.leaseName, c.metricsPort, c.autoscale],
      ['duet-operator-7c9', 'duet', 'models', true, 'duet-operator', 9090, true],
    );
    assert.equal(parseOperatorConfig({ argv: ['--watch-namespace', 'x'], env: {} }).leaseNamespace, 'x', 'no POD_NAMESPACE: the watched one');
  });
  test('a bad value names its flag and env; unsafe lease timings are refused', () => {
    assert.throws(() => parseOperatorConfig({ argv: ['--concurrency', '0'], env: {} }), (e: Error) => e instanceof ConfigError && /--concurrency \(DUET_CONCURRENCY\)/.test(e.message));
    assert.throws(() => parseOperatorConfig({ argv: ['--renew-deadline-ms', '20000'], env: {} }), /--renew-deadline-ms \(20000\) < --lease-duration-ms \(15000\) must hold/);
    assert.doesNotThrow(() => parseOperatorConfig({ argv: ['--renew-deadline-ms', '20000', '--leader-elect', 'false'], env: {} }));
  });
  test('a kubeconfig that does not exist is named', () => {
    assert.throws(() => loadKubeConfig({ kubeconfig: '/nonexistent/kubeconfig' }), (e: Error) => e instanceof KubeConfigError && /--kubeconfig \/nonexistent\/kubeconfig: no such file/.test(e.message));
  });
});

describe('Events and informers against the double', () => {
  let double: KubeDouble;
  let core: CoreV1Api;
  before(async () => {
    double = await KubeDouble.start();
    core = double.kubeConfig('duet').makeApiClient(CoreV1Api);
  });
  after(async () => double.close());

  test('a repeated Event bumps count on the existing one; a different message is a new Event', async () => {
    const clock = new ManualClock(Date.UTC(2025, 0, 1));
    const rec = new EventRecorder(core, { component: 'duet-operator', instance: 'op-1', clock }, logger);
    const obj = { apiVersion: 'duet.dev/v1alpha1', kind: 'DuetService', metadata: { name: 'llama', namespace: 'duet', uid: 'u-1' } };
    await rec.record(obj, 'Warning', 'RoutingPolicyNotFound', 'RoutingPolicy "x" does not exist');
    clock.advance(5000);
    await rec.record(obj, 'Warning', 'RoutingPolicyNotFound', 'RoutingPolicy "x" does not exist');
    await rec.record(obj, 'Normal', 'Ready', 'all ready');
    const events = (await core.listNamespacedEvent({ namespace: 'duet' })).items;
    const summary = events.map((e) => [e.reason, e.count, e.involvedObject.uid, e.reportingInstance]).sort();
    assert.deepEqual(summary, [
      ['Ready', 1, 'u-1', 'op-1'],
      ['RoutingPolicyNotFound', 2, 'u-1', 'op-1'],
    ]);
    const repeated = events.find((e) => e.reason === 'RoutingPolicyNotFound');
    assert.equal(new Date(repeated!.lastTimestamp!).getTime() - new Date(repeated!.firstTimestamp!).getTime(), 5000);
  });

  test('recording never throws: an Event the API refuses is logged and dropped', async () => {
    const remove = double.intercept((info) => {
      if (info.def.plural === 'events') throw new ApiError(403, 'BadRequest', 'forbidden (test)');
    });
    const rec = new EventRecorder(core, { component: 'c', instance: 'i' }, logger);
    await rec.record({ metadata: { name: 'x', namespace: 'duet' } }, 'Normal', 'R', 'm');
    remove();
  });

  test('an informer restarts itself after a failed watch and keeps delivering events', async () => {
    let failures = 1;
    const remove = double.intercept((info) => {
      if (info.verb === 'watch' && info.def.plural === 'configmaps' && info.user === 'inf' && failures-- > 0) throw new ApiError(500, 'InternalError', 'watch failed (test)');
    });
    const kc = double.kubeConfig('duet', 'inf');
    const api = kc.makeApiClient(CoreV1Api);
    const seen: string[] = [];
    // The initial list succeeds; its first watch fails with 500.
    const inf = new ResourceInformer(kc, { path: '/api/v1/namespaces/duet/configmaps', list: () => api.listNamespacedConfigMap({ namespace: 'duet' }), logger, restartBaseMs: 20 });
    inf.on((type, o) => seen.push(`${type} ${o.metadata?.name}`));
    await inf.start();
    assert.equal(inf.hasSynced, true);
    await until('the restarted watch', () => double.requests.filter((r) => r.user === 'inf' && r.verb === 'watch').length >= 2);
    await core.createNamespacedConfigMap({ namespace: 'duet', body: { metadata: { name: 'after-failure' } } });
    await until('event after the restart', () => seen.includes('add after-failure'));
    remove();
    await inf.stop();
  });
});
