/**
 * The Helm chart renders for the default values and four other value sets; `helm lint --strict` is
 * clean for each; every rendered object is valid (kubernetes-models for built-in kinds, the CRD
 * schemas + zod for Duet resources); the chart's CRDs are valid CustomResourceDefinitions; pods run
 * under the restricted pod security profile; selectors find their pods; bad values are refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CHART_DIR } from './chart-helm.ts';
import { byKind, duetServiceSpec, firstContainer, lintChart, one, podSpecOf, renderChart, renderChartRaw, validateObject, type K8sObject } from './chart-render.ts';
import { VALUE_SETS } from './chart-value-sets.ts';

const rendered = new Map<string, K8sObject[]>();
const render = (name: string): K8sObject[] => {
  let objs = rendered.get(name);
  if (!objs) {
    objs = renderChart(VALUE_SETS.find((s) => s.name === name)?.values ?? {});
    rendered.set(name, objs);
  }
  return objs;
};

test('helm lint --strict is clean for every value set', () => {
  for (const set of VALUE_SETS) {
    const r = lintChart(set.values);
    assert.equal(r.status, 0, `${set.name}:\n${r.output}`);
    assert.doesNotMatch(r.output, /\[(WARNING|ERROR)\]/, `${set.name}:\n${r.output}`);
  }
});

test('the chart CRDs are valid CustomResourceDefinitions', () => {
  const files = readdirSync(join(CHART_DIR, 'crds'));
  assert.deepEqual(files.sort(), ['duet.dev_duetservices.yaml', 'duet.dev_routingpolicies.yaml', 'duet.dev_scalingpolicies.yaml']);
  for (const f of files) assert.deepEqual(validateObject(parse(readFileSync(join(CHART_DIR, 'crds', f), 'utf8')) as K8sObject), []);
});

for (const set of VALUE_SETS) {
  test(`${set.name}: every rendered object is valid`, () => {
    const objs = render(set.name);
    assert.ok(objs.length > 5);
    assert.deepEqual(objs.flatMap(validateObject), []);
    for (const o of objs) assert.equal(o.metadata.namespace ?? 'duet', o.kind === 'ConfigMap' && set.name === 'monitoring' && o.metadata.name.endsWith('-dashboard') ? 'monitoring' : 'duet', `${o.kind}/${o.metadata.name}`);
  });

  test(`${set.name}: pods run under the restricted pod security profile`, () => {
    for (const w of [...byKind(render(set.name), 'Deployment'), ...byKind(render(set.name), 'StatefulSet')]) {
      const pod = (w.spec as { template: { spec: PodSpec } }).template.spec;
      const where = `${w.kind}/${w.metadata.name}`;
      assert.equal(pod.securityContext?.runAsNonRoot, true, where);
      assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault', where);
      for (const c of pod.containers) {
        assert.equal(c.securityContext?.readOnlyRootFilesystem, true, `${where} ${c.name}`);
        assert.equal(c.securityContext?.allowPrivilegeEscalation, false, `${where} ${c.name}`);
        assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL'], `${where} ${c.name}`);
        assert.ok(c.resources?.requests && c.resources.limits?.memory, `${where} ${c.name}: requests and a memory limit`);
      }
    }
  });

  test(`${set.name}: Service, PDB and NetworkPolicy selectors find pods of the chart`, () => {
    const objs = render(set.name);
    const podLabels = [...byKind(objs, 'Deployment'), ...byKind(objs, 'StatefulSet')].map(
      (w) => (w.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels,
    );
    const matches = (sel: Record<string, string>): boolean => podLabels.some((l) => Object.entries(sel).every(([k, v]) => l[k] === v));
    for (const s of byKind(objs, 'Service')) assert.ok(matches((s.spec as { selector: Record<string, string> }).selector), `Service/${s.metadata.name}`);
    for (const p of byKind(objs, 'PodDisruptionBudget')) assert.ok(matches((p.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels), `PDB/${p.metadata.name}`);
    for (const w of [...byKind(objs, 'Deployment'), ...byKind(objs, 'StatefulSet')]) {
      const spec = w.spec as { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> } } };
      for (const [k, v] of Object.entries(spec.selector.matchLabels)) assert.equal(spec.template.metadata.labels[k], v, `${w.kind}/${w.metadata.name} selector ${k}`);
    }
  });
}

interface PodSpec {
  securityContext?: { runAsNonRoot?: boolean; seccompProfile?: { type?: string } };
  containers: {
    name: string;
    securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[] } };
    resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  }[];
}

// ── what each value set changes ─────────────────────────────────────────────────────────────────

test('defaults: in-cluster NATS, no Redis, one DuetService pointing at its two policies', () => {
  const objs = render('defaults');
  const spec = duetServiceSpec(objs);
  assert.equal(spec.nats.url, 'nats://duet-nats.duet.svc:4222');
  assert.equal(spec.redis, undefined);
  assert.equal(spec.image, 'duet:0.1.0-cpu');
  assert.deepEqual(spec.router?.policyRef, { name: 'duet' });
  assert.deepEqual(spec.scalingPolicyRef, { name: 'duet' });
  assert.deepEqual(spec.model.source, { image: { path: '/app/models/demo' } });
  one(objs, 'RoutingPolicy', 'duet');
  one(objs, 'ScalingPolicy', 'duet');
  one(objs, 'StatefulSet', 'duet-nats');
  one(objs, 'PodDisruptionBudget', 'duet-operator');
  assert.equal(byKind(objs, 'ServiceMonitor').length, 0);
  assert.deepEqual(byKind(objs, 'NetworkPolicy').map((n) => n.metadata.name).sort(), ['duet-gateway', 'duet-nats', 'duet-operator', 'duet-workloads']);
});

test('external-nats-redis: no NATS objects, Redis wired into the DuetService, gateway locked down', () => {
  const objs = render('external-nats-redis');
  assert.equal(objs.filter((o) => o.metadata.name.startsWith('duet-nats')).length, 0);
  const spec = duetServiceSpec(objs);
  assert.equal(spec.nats.url, 'nats://nats.infra.svc:4222');
  assert.equal(spec.redis?.url, 'redis://duet-redis.duet.svc:6379');
  assert.equal(spec.router?.replicas, 2);
  assert.deepEqual(spec.gateway, { replicas: 2, service: { type: 'LoadBalancer', port: 443 }, apiKeys: { secretRef: { name: 'duet-api-keys', key: 'apiKeys' } }, resources: {} });
  one(objs, 'Deployment', 'duet-redis');
  const gw = one(objs, 'NetworkPolicy', 'duet-gateway').spec as { ingress: { from: unknown[] }[] };
  assert.deepEqual(gw.ingress[0].from, [{ namespaceSelector: { matchLabels: { 'duet.dev/ingress': 'true' } } }]);
});

test('monitoring: ServiceMonitors, PrometheusRule and the dashboard ConfigMap', () => {
  const objs = render('monitoring');
  assert.deepEqual(byKind(objs, 'ServiceMonitor').map((s) => s.metadata.labels?.release), ['prometheus', 'prometheus']);
  const rule = byKind(objs, 'PrometheusRule')[0];
  assert.ok(((rule.spec as { groups: unknown[] }).groups).length >= 2);
  const dash = one(objs, 'ConfigMap', 'duet-dashboard');
  assert.equal(dash.metadata.labels?.grafana_dashboard, '1');
  assert.equal((JSON.parse((dash.data as Record<string, string>)['duet-overview.json']) as { uid: string }).uid, 'duet-overview');
  assert.equal(byKind(objs, 'PodDisruptionBudget').filter((p) => p.metadata.name === 'duet-operator').length, 0, 'no PDB for a single operator replica');
});

test('gpu-decode-pools: pools on different hardware, NATS cluster, cluster-wide RBAC', () => {
  const objs = render('gpu-decode-pools');
  const spec = duetServiceSpec(objs);
  assert.equal(spec.decode?.image, 'duet:0.1.0-gpu');
  assert.equal(spec.prefill?.image, undefined, 'prefill keeps the default image');
  assert.equal(spec.model.engine?.backend, 'tensorflow');
  assert.deepEqual(spec.decode?.tolerations, [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
  assert.equal(spec.router?.policyRef, undefined);
  assert.equal(spec.redis?.url, 'redis://redis.infra.svc:6379');
  assert.equal(one(objs, 'DuetService', 'llm').metadata.name, 'llm');
  const nats = one(objs, 'ConfigMap', 'llm-nats').data as Record<string, string>;
  for (const i of [0, 1, 2]) assert.match(nats['nats.conf'], new RegExp(`nats://llm-nats-${i}\\.llm-nats-headless\\.duet\\.svc:6222`));
  assert.match(nats['nats.conf'], /max_payload: 8388608/);
  one(objs, 'ClusterRole', 'llm-operator');
  one(objs, 'ClusterRoleBinding', 'llm-operator');
  const env = firstContainer(objs, 'llm-operator').env;
  assert.equal(env.find((e) => e.name === 'DUET_WATCH_NAMESPACE')?.value, '', 'cluster scope watches every namespace');
});

test('operator-only: just the operator and NATS, no RBAC or ServiceAccount of its own', () => {
  const objs = render('operator-only');
  assert.deepEqual([...new Set(objs.map((o) => o.kind))].sort(), ['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Service', 'StatefulSet']);
  assert.equal(podSpecOf(objs, 'duet-operator').serviceAccountName, 'platform-duet');
});

// ── refusals ────────────────────────────────────────────────────────────────────────────────────

test('values.schema.json refuses a bad value, naming it', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ image: { flavor: 'tpu' } }, /image\.flavor/],
    [{ duetService: { prefill: { replicas: -1 } } }, /duetService\.prefill\.replicas/],
    [{ operator: { rbac: { scope: 'everything' } } }, /operator\.rbac\.scope/],
    [{ nats: { enabled: false, externalUrl: 'localhost:4222' } }, /nats\.externalUrl/],
    [{ duetService: { gateway: { servicePrt: 80 } } }, /servicePrt/],
    [{ duetService: { model: { source: { type: 'nfs' } } } }, /duetService\.model\.source\.type/],
  ];
  for (const [values, message] of cases) {
    const r = renderChartRaw(values);
    assert.notEqual(r.status, 0, JSON.stringify(values));
    assert.match(r.stderr, message);
  }
});

test('inconsistent values fail the render with the fix named', () => {
  let r = renderChartRaw({ nats: { enabled: false } });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /nats\.externalUrl is required when nats\.enabled is false/);
  r = renderChartRaw({ duetService: { router: { replicas: 2 } } });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /router\.replicas > 1 needs Redis/);
  r = renderChartRaw({ duetService: { model: { source: { type: 'pvc' } } } });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /duetService\.model\.source\.pvc\.claimName is required for source\.type pvc/);
});

test('a bad custom resource from values is rejected by its CRD schema with the path named', () => {
  const objs = renderChart({ scalingPolicy: { spec: { decode: { thresholds: { kvUtilization: 2 } } } }, routingPolicy: { spec: { decode: { scorers: [{ type: 'prefix-affinity', wieght: 2 }] } } } });
  const problems = objs.flatMap(validateObject);
  assert.ok(problems.some((p) => p.startsWith('ScalingPolicy/duet: spec.decode.thresholds.kvUtilization:')), problems.join('\n'));
  assert.ok(problems.some((p) => p.startsWith('RoutingPolicy/duet: spec.decode.scorers.0: must NOT have additional properties (wieght)')), problems.join('\n'));
});
