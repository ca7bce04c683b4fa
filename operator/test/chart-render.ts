/**
 * Test support for the chart tests: render charts/duet with `helm template` for a value set, parse
 * the documents, and validate each — built-in kinds with kubernetes-models, Duet custom resources
 * against their CRD's openAPIV3Schema (ajv, unknown fields rejected) and the operator's zod schema,
 * Prometheus Operator kinds with the few structural checks their CRDs would make.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { ConfigMap, Service, ServiceAccount } from 'kubernetes-models/v1';
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1';
import { buildCrd } from '../src/crds/crd.ts';
import type { DuetServiceSpecInput } from '../src/crds/duet-service.ts';
import { CRD_DEFINITIONS } from '../src/crds/definitions.ts';
import { CHART_DIR, helm } from './chart-helm.ts';
import { compileCrd, formatErrors, newAjv } from './crds-ajv.ts';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  [k: string]: unknown;
}

type Validatable = { validate(): void };
const MODELS: Record<string, new (doc: never) => Validatable> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'apiextensions.k8s.io/v1/CustomResourceDefinition': CustomResourceDefinition,
};

const ajv = newAjv();
const crdValidators = new Map(CRD_DEFINITIONS.map((d) => [`duet.dev/v1alpha1/${d.kind}`, { def: d, validate: compileCrd(ajv, buildCrd(d)) }]));

export const RELEASE = { name: 'duet', namespace: 'duet' };

/** `helm template` with `values` (written to a temporary file); throws with helm's stderr on failure. */
export function renderChart(values: Record<string, unknown>, extraArgs: readonly string[] = []): K8sObject[] {
  const r = renderChartRaw(values, extraArgs);
  if (r.status !== 0) throw new Error(`helm template failed:\n${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((d): d is K8sObject => d !== null);
}

export function renderChartRaw(values: Record<string, unknown>, extraArgs: readonly string[] = []): { status: number; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'duet-chart-'));
  try {
    const file = join(dir, 'values.yaml');
    writeFileSync(file, stringify(values));
    return helm(['template', RELEASE.name, CHART_DIR, '--namespace', RELEASE.namespace, '-f', file, ...extraArgs]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function lintChart(values: Record<string, unknown>): { status: number; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'duet-chart-'));
  try {
    const file = join(dir, 'values.yaml');
    writeFileSync(file, stringify(values));
    const r = helm(['lint', '--strict', CHART_DIR, '--namespace', RELEASE.namespace, '-f', file]);
    return { status: r.status, output: r.stdout + r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every problem with one rendered object, as `Kind/name: problem` lines (empty = valid). */
export function validateObject(o: K8sObject): string[] {
  const id = `${o.kind}/${o.metadata?.name ?? '?'}`;
  const key = `${o.apiVersion}/${o.kind}`;
  const Model = MODELS[key];
  if (Model) {
    try {
      new Model(o as never).validate();
      return [];
    } catch (err) {
      return [`${id}: ${String(err)}`];
    }
  }
  const crd = crdValidators.get(key);
  if (crd) {
    const problems = crd.validate(o) ? [] : formatErrors(crd.validate.errors).map((e) => `${id}: ${e}`);
    const parsed = crd.def.spec.safeParse(o.spec);
    if (!parsed.success) problems.push(...parsed.error.issues.map((i) => `${id}: spec.${i.path.join('.')}: ${i.message}`));
    return problems;
  }
  if (key === 'monitoring.coreos.com/v1/ServiceMonitor') return validateServiceMonitor(o).map((p) => `${id}: ${p}`);
  if (key === 'monitoring.coreos.com/v1/PrometheusRule') return validatePrometheusRule(o).map((p) => `${id}: ${p}`);
  return [`${id}: no validator for ${key}`];
}

function validateServiceMonitor(o: K8sObject): string[] {
  const spec = (o.spec ?? {}) as { selector?: unknown; endpoints?: { port?: unknown }[] };
  const out: string[] = [];
  if (typeof spec.selector !== 'object' || spec.selector === null) out.push('spec.selector: required');
  if (!Array.isArray(spec.endpoints) || spec.endpoints.length === 0) out.push('spec.endpoints: required');
  for (const [i, e] of (spec.endpoints ?? []).entries()) if (typeof e.port !== 'string') out.push(`spec.endpoints.${i}.port: must name a Service port`);
  return out;
}

function validatePrometheusRule(o: K8sObject): string[] {
  const groups = ((o.spec ?? {}) as { groups?: { name?: unknown; rules?: Record<string, unknown>[] }[] }).groups;
  if (!Array.isArray(groups) || groups.length === 0) return ['spec.groups: required'];
  const out: string[] = [];
  groups.forEach((g, gi) => {
    if (typeof g.name !== 'string') out.push(`spec.groups.${gi}.name: required`);
    (g.rules ?? []).forEach((r, ri) => {
      if (typeof r.expr !== 'string' || r.expr === '') out.push(`spec.groups.${gi}.rules.${ri}.expr: required`);
      if ((typeof r.alert === 'string') === (typeof r.record === 'string')) out.push(`spec.groups.${gi}.rules.${ri}: exactly one of alert, record`);
    });
  });
  return out;
}

export const byKind = (objs: readonly K8sObject[], kind: string): K8sObject[] => objs.filter((o) => o.kind === kind);

export function one(objs: readonly K8sObject[], kind: string, name: string): K8sObject {
  const found = objs.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind}/${name} among ${objs.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args: string[];
  env: { name: string; value?: string }[];
}

/** The first container of a Deployment's pod template. */
export function firstContainer(objs: readonly K8sObject[], deployment: string): Container {
  const spec = one(objs, 'Deployment', deployment).spec as { template: { spec: { containers: Container[]; serviceAccountName?: string } } };
  return spec.template.spec.containers[0];
}

export function podSpecOf(objs: readonly K8sObject[], deployment: string): { serviceAccountName?: string } {
  return (one(objs, 'Deployment', deployment).spec as { template: { spec: { serviceAccountName?: string } } }).template.spec;
}

/** The rendered DuetService's spec, as written (no defaults applied). */
export function duetServiceSpec(objs: readonly K8sObject[]): DuetServiceSpecInput {
  const svc = byKind(objs, 'DuetService')[0];
  if (!svc) throw new Error('no DuetService rendered');
  return svc.spec as DuetServiceSpecInput;
}
