/**
 * The CRD schemas as a user meets them: the documented examples pass both the API server's view
 * (ajv on the generated openAPIV3Schema) and the operator's (zod); bad resources are refused with
 * the path of the bad field; each cross-field rule is enforced by its zod twin with the same message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCrd } from '../src/crds/crd.ts';
import { CRD_DEFINITIONS, DUET_SERVICE, ROUTING_POLICY, SCALING_POLICY, type CrdDefinition } from '../src/crds/definitions.ts';
import { CRD_EXAMPLES } from '../src/crds/examples.ts';
import { duetServiceSpecSchema } from '../src/crds/duet-service.ts';
import { compileCrd, formatErrors, newAjv } from './crds-ajv.ts';

const ajv = newAjv();
const validators = new Map(CRD_DEFINITIONS.map((d) => [d.kind, compileCrd(ajv, buildCrd(d))]));

function serverErrors(doc: unknown, kind: string): string[] {
  const v = validators.get(kind);
  if (!v) throw new Error(`no CRD for ${kind}`);
  return v(doc) ? [] : formatErrors(v.errors);
}

function zodIssues(def: CrdDefinition, spec: unknown): string[] {
  const r = def.spec.safeParse(spec);
  return r.success ? [] : r.error.issues.map((i) => `spec.${i.path.join('.')}: ${i.message}`);
}

const clone = <T>(v: T): T => structuredClone(v);
const example = (kind: string): Record<string, unknown> & { spec: Record<string, unknown> } =>
  clone(CRD_EXAMPLES[kind]) as Record<string, unknown> & { spec: Record<string, unknown> };

for (const def of CRD_DEFINITIONS) {
  test(`${def.kind}: the documented example is valid for the API server and for the operator`, () => {
    const doc = example(def.kind);
    assert.equal(doc.kind, def.kind);
    assert.deepEqual(serverErrors(doc, def.kind), []);
    assert.deepEqual(zodIssues(def, doc.spec), []);
  });

  test(`${def.kind}: the operator's defaulted spec is still valid for the API server`, () => {
    const doc = example(def.kind);
    const parsed = def.spec.parse(doc.spec);
    assert.deepEqual(serverErrors({ ...doc, spec: parsed }, def.kind), []);
  });
}

test('DuetService: a minimal spec gets every default', () => {
  const spec = duetServiceSpecSchema.parse({ image: 'duet:cpu', model: { name: 'm', source: { image: { path: '/models/m' } } }, nats: { url: 'nats://n:4222' } });
  assert.equal(spec.model.engine.backend, 'wasm');
  assert.equal(spec.model.engine.blockSize, 16);
  assert.deepEqual(spec.prefill, { replicas: 1, minReplicas: 1, maxReplicas: 4, resources: {}, nodeSelector: {}, tolerations: [], transport: 'nats' });
  assert.deepEqual(spec.gateway.service, { type: 'ClusterIP', port: 80 });
  assert.equal(spec.router.replicas, 1);
  assert.equal(spec.redis, undefined);
});

// ── rejected with the path named ────────────────────────────────────────────────────────────────

/** A change to a spec: dotted path (array indexes as numbers) → new value; `undefined` deletes. */
type Edit = [path: string, value: unknown];

function applyEdits(spec: Record<string, unknown>, edits: readonly Edit[]): void {
  for (const [path, value] of edits) {
    const parts = path.split('.');
    let at = spec;
    for (const p of parts.slice(0, -1)) at = at[p] as Record<string, unknown>;
    const last = parts[parts.length - 1];
    if (value === undefined) delete at[last];
    else at[last] = value;
  }
}

// `serverOnly`: an unknown field; the API server rejects (strict field validation) or prunes it, so
// the operator never sees it and zod (which strips unknown keys) need not reject it.
const bad: { name: string; kind: string; edits: Edit[]; path: string; serverOnly?: boolean }[] = [
  { name: 'negative replicas', kind: 'DuetService', edits: [['prefill.minReplicas', -1]], path: 'spec.prefill.minReplicas' },
  { name: 'unknown backend', kind: 'DuetService', edits: [['model.engine.backend', 'cuda']], path: 'spec.model.engine.backend' },
  { name: 'missing NATS', kind: 'DuetService', edits: [['nats', undefined]], path: 'spec' },
  { name: 'misspelt field', kind: 'DuetService', edits: [['decode.maxReplica', 3]], path: 'spec.decode', serverOnly: true },
  { name: 'bad quantity', kind: 'DuetService', edits: [['prefill.resources.requests.memory', 'four gigs']], path: 'spec.prefill.resources.requests.memory' },
  { name: 'bad toleration effect', kind: 'DuetService', edits: [['decode.tolerations.0.effect', 'Sometimes']], path: 'spec.decode.tolerations.0.effect' },
  { name: 'NATS URL without scheme', kind: 'DuetService', edits: [['nats.url', 'duet-nats:4222']], path: 'spec.nats.url' },
  { name: 'negative scorer weight', kind: 'RoutingPolicy', edits: [['decode.scorers.0.weight', -1]], path: 'spec.decode.scorers.0.weight' },
  { name: 'unknown disaggregation mode', kind: 'RoutingPolicy', edits: [['disaggregation.mode', 'sometimes']], path: 'spec.disaggregation.mode' },
  { name: 'plugin type not kebab-case', kind: 'RoutingPolicy', edits: [['decode.scorers.0.type', 'PrefixAffinity']], path: 'spec.decode.scorers.0.type' },
  { name: 'KV utilisation above 1', kind: 'ScalingPolicy', edits: [['decode.thresholds.kvUtilization', 1.5]], path: 'spec.decode.thresholds.kvUtilization' },
  { name: 'zero TTFT target', kind: 'ScalingPolicy', edits: [['prefill.slo.ttftP90Ms', 0]], path: 'spec.prefill.slo.ttftP90Ms' },
  { name: 'interval of 0 s', kind: 'ScalingPolicy', edits: [['intervalSeconds', 0]], path: 'spec.intervalSeconds' },
];

const defs: Record<string, CrdDefinition> = { DuetService: DUET_SERVICE, RoutingPolicy: ROUTING_POLICY, ScalingPolicy: SCALING_POLICY };

for (const c of bad) {
  test(`${c.kind}: ${c.name} is rejected at ${c.path} by the API server schema and by zod`, () => {
    const doc = example(c.kind);
    applyEdits(doc.spec, c.edits);
    const server = serverErrors(doc, c.kind);
    assert.ok(server.some((e) => e.startsWith(`${c.path}:`)), `API server errors ${JSON.stringify(server)} do not name ${c.path}`);
    if (c.serverOnly) return;
    const operator = zodIssues(defs[c.kind], doc.spec);
    assert.ok(operator.length > 0, 'zod accepted it');
  });
}

// ── cross-field rules: CEL for the API server, the zod twin for the operator ────────────────────

const crossField: { name: string; kind: string; edits: Edit[]; issue: string }[] = [
  { name: 'min above max', kind: 'DuetService', edits: [['decode.minReplicas', 5], ['decode.maxReplicas', 3], ['decode.replicas', 3]], issue: 'spec.decode.minReplicas: minReplicas must be <= maxReplicas' },
  { name: 'replicas outside the bounds', kind: 'DuetService', edits: [['prefill.replicas', 9]], issue: 'spec.prefill.replicas: replicas must lie within [minReplicas, maxReplicas]' },
  { name: 'two model sources', kind: 'DuetService', edits: [['model.source.hostPath', { path: '/m' }]], issue: 'spec.model.source: exactly one of pvc, hostPath or image must be set' },
  { name: 'no model source', kind: 'DuetService', edits: [['model.source', {}]], issue: 'spec.model.source: exactly one of pvc, hostPath or image must be set' },
  { name: 'two routers without redis', kind: 'DuetService', edits: [['redis', undefined]], issue: 'spec.router.replicas: more than one router replica needs redis (shared in-flight accounting)' },
  { name: 'ratio min above max', kind: 'ScalingPolicy', edits: [['prefillToDecodeRatio', { min: 3, max: 1 }]], issue: 'spec.prefillToDecodeRatio.min: min must be <= max' },
  { name: 'pool min above max', kind: 'ScalingPolicy', edits: [['prefill.minReplicas', 5], ['prefill.maxReplicas', 4]], issue: 'spec.prefill.minReplicas: minReplicas must be <= maxReplicas' },
];

for (const c of crossField) {
  test(`${c.kind}: ${c.name} passes the type schema but breaks a CEL rule, and zod reports it`, () => {
    const doc = example(c.kind);
    applyEdits(doc.spec, c.edits);
    assert.deepEqual(serverErrors(doc, c.kind), [], 'only the CEL rule should catch this');
    assert.ok(zodIssues(defs[c.kind], doc.spec).includes(c.issue), `zod issues: ${JSON.stringify(zodIssues(defs[c.kind], doc.spec))}`);
    const [path, message] = c.issue.split(': ');
    const rules = JSON.stringify(buildCrd(defs[c.kind]));
    assert.ok(rules.includes(JSON.stringify(message)), `no CEL rule carries "${message}" (${path})`);
  });
}
