/**
 * The chart agrees with the code it deploys: the labels, ports and names it selects the operator's
 * objects by are the operator's own (operator/src/controller/names.ts); every metric the Grafana
 * dashboard and the Prometheus rules query is one a Duet component exports; the chart's copies of
 * those files are the infra/ originals.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { LABELS, MANAGED_BY, PORTS } from '../src/controller/names.ts';
import { CHART_FILE_COPIES } from '../src/crds/generate.ts';
import { REPO_ROOT } from './chart-helm.ts';
import { one, renderChart } from './chart-render.ts';

const objs = renderChart({ monitoring: { serviceMonitor: { enabled: true }, prometheusRule: { enabled: true } } });

test('ServiceMonitor and NetworkPolicies select the operator-managed pods by the operator’s labels and ports', () => {
  const sm = one(objs, 'ServiceMonitor', 'duet-workloads').spec as { selector: { matchLabels: Record<string, string> }; endpoints: { port: string }[] };
  assert.deepEqual(sm.selector.matchLabels, { [LABELS.managedBy]: MANAGED_BY });
  assert.equal(sm.endpoints[0].port, 'metrics');
  const workloads = one(objs, 'NetworkPolicy', 'duet-workloads').spec as { podSelector: { matchLabels: Record<string, string> }; ingress: { ports?: { port: number }[] }[] };
  assert.deepEqual(workloads.podSelector.matchLabels, { [LABELS.managedBy]: MANAGED_BY });
  assert.equal(workloads.ingress[1].ports?.[0].port, PORTS.metrics);
  const gateway = one(objs, 'NetworkPolicy', 'duet-gateway').spec as { podSelector: { matchLabels: Record<string, string> }; ingress: { ports: { port: number }[] }[] };
  assert.deepEqual(gateway.podSelector.matchLabels, { [LABELS.managedBy]: MANAGED_BY, [LABELS.component]: 'gateway' });
  assert.equal(gateway.ingress[0].ports[0].port, PORTS.gatewayHttp);
});

test('NATS and Redis admit the pods the operator creates (part-of=duet)', () => {
  const nats = one(objs, 'NetworkPolicy', 'duet-nats').spec as { ingress: { from: { podSelector?: { matchLabels: Record<string, string> } }[] }[] };
  assert.deepEqual(nats.ingress[0].from[0].podSelector?.matchLabels, { [LABELS.partOf]: 'duet' });
});

// ── metrics named by the dashboard and the rules exist ──────────────────────────────────────────

/** Every metric family a Duet component registers, read from the metrics modules' name calls. */
function exportedMetrics(): Set<string> {
  const names = new Set<string>();
  const services = join(REPO_ROOT, 'services');
  for (const pkg of readdirSync(services)) {
    let src: string;
    try {
      src = readFileSync(join(services, pkg, 'src', 'metrics.ts'), 'utf8');
    } catch {
      continue;
    }
    for (const m of src.matchAll(/metricName\('([a-z_]+)', '([a-z_]+)', '([a-z_]+)'\)/g)) names.add(`duet_${m[1]}_${m[2]}_${m[3]}`);
    // Router and workers name through a local `n(what, unit)` bound to their component/role.
    const components = pkg === 'worker' ? ['prefill', 'decode', 'both'] : [pkg];
    for (const m of src.matchAll(/\bn\('([a-z_]+)', '([a-z_]+)'\)/g)) for (const c of components) names.add(`duet_${c}_${m[1]}_${m[2]}`);
  }
  return names;
}

function queriedMetrics(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/\b(duet_[a-z_]+)/g)) out.add(m[1].replace(/_(bucket|sum|count)$/, ''));
  return out;
}

test('every metric the dashboard and the rules query is exported by a component', () => {
  const exported = exportedMetrics();
  assert.ok(exported.has('duet_gateway_ttft_seconds') && exported.has('duet_decode_kv_blocks_used'), 'the scan finds the metrics modules');
  const dashboard = readFileSync(join(REPO_ROOT, 'infra', 'grafana', 'duet-overview.json'), 'utf8');
  const rules = readFileSync(join(REPO_ROOT, 'infra', 'prometheus', 'duet-rules.yaml'), 'utf8');
  for (const [file, text] of [['dashboard', dashboard], ['rules', rules]]) {
    const missing = [...queriedMetrics(text)].filter((m) => !exported.has(m));
    assert.deepEqual(missing, [], `${file} queries metrics no component exports`);
  }
});

test('the Prometheus rules file parses and every alert has a severity and summary', () => {
  const doc = parse(readFileSync(join(REPO_ROOT, 'infra', 'prometheus', 'duet-rules.yaml'), 'utf8')) as { groups: { rules: { alert?: string; labels?: { severity?: string }; annotations?: { summary?: string } }[] }[] };
  const alerts = doc.groups.flatMap((g) => g.rules).filter((r) => r.alert);
  assert.ok(alerts.length >= 4);
  for (const a of alerts) {
    assert.match(a.labels?.severity ?? '', /^(warning|critical)$/, a.alert);
    assert.ok(a.annotations?.summary, a.alert);
  }
  const rule = one(objs, 'PrometheusRule', 'duet').spec as { groups: unknown[] };
  assert.deepEqual(rule.groups, doc.groups, 'the PrometheusRule carries the rules file as it is');
});

test('the chart’s copies of the dashboard and rules are the infra/ originals', () => {
  for (const [from, to] of Object.entries(CHART_FILE_COPIES)) {
    assert.equal(readFileSync(join(REPO_ROOT, to), 'utf8'), readFileSync(join(REPO_ROOT, from), 'utf8'), `${to} differs from ${from}: npm run crds:gen`);
  }
});

test('every DUET_* variable the chart gives the operator is an option of the operator', async () => {
  const { operatorConfigSchema } = await import('../src/controller/config.ts');
  const envName = (key: string): string => `DUET_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
  const known = new Set([...Object.keys(operatorConfigSchema.shape).map(envName), 'DUET_LOG_LEVEL']);
  const env = (one(objs, 'Deployment', 'duet-operator').spec as { template: { spec: { containers: { env: { name: string }[] }[] } } }).template.spec.containers[0].env;
  const duet = env.map((e) => e.name).filter((n) => n.startsWith('DUET_'));
  assert.ok(duet.length >= 4);
  assert.deepEqual(duet.filter((n) => !known.has(n)), []);
  for (const n of ['POD_NAME', 'POD_NAMESPACE']) assert.ok(env.some((e) => e.name === n), n);
});
