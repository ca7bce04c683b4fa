/**
 * Test support for the CRD and chart tests: validates custom resources against a CRD's
 * `openAPIV3Schema` with ajv the way the API server would with strict field validation — types,
 * enums, bounds, patterns, required fields, and unknown fields rejected wherever the schema does not
 * say `x-kubernetes-preserve-unknown-fields` (the server would prune them silently; a typo in chart
 * values would vanish). CEL rules are not evaluated here: their zod twins are (see crds.test.ts).
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

type Schema = Record<string, unknown>;

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i;
const K8S_KEYWORDS = [
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
  'x-kubernetes-embedded-resource',
  'example',
];

export function newAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, formats: { 'date-time': RFC3339 } });
  for (const k of K8S_KEYWORDS) ajv.addKeyword({ keyword: k, schemaType: ['boolean', 'string', 'array', 'object'] });
  return ajv;
}

/** OpenAPI v3 (structural) → what ajv's draft-07 reads, with unknown fields closed off. */
export function toAjvSchema(node: Schema): Schema {
  const out: Schema = { ...node };
  if (out.exclusiveMinimum === true) {
    out.exclusiveMinimum = out.minimum;
    delete out.minimum;
  }
  if (out.exclusiveMaximum === true) {
    out.exclusiveMaximum = out.maximum;
    delete out.maximum;
  }
  if (node.properties) {
    out.properties = Object.fromEntries(Object.entries(node.properties as Record<string, Schema>).map(([k, v]) => [k, toAjvSchema(v)]));
    if (node['x-kubernetes-preserve-unknown-fields'] !== true) out.additionalProperties = false;
  }
  if (node.type === 'object' && !node.properties && !node.additionalProperties && node['x-kubernetes-preserve-unknown-fields'] !== true) {
    out.additionalProperties = false;
  }
  if (node.items) out.items = toAjvSchema(node.items as Schema);
  if (typeof node.additionalProperties === 'object') out.additionalProperties = toAjvSchema(node.additionalProperties as Schema);
  return out;
}

/** The root schema of a CRD's first version, `metadata` left open as the server treats it. */
export function crdRootSchema(crd: Schema): Schema {
  const versions = (crd.spec as { versions: { schema: { openAPIV3Schema: Schema } }[] }).versions;
  return versions[0].schema.openAPIV3Schema;
}

export function compileCrd(ajv: Ajv, crd: Schema): ValidateFunction {
  const root = toAjvSchema(crdRootSchema(crd));
  (root.properties as Record<string, Schema>).metadata = { type: 'object' };
  return ajv.compile(root);
}

/** `/spec/prefill/minReplicas` + `must be >= 0` → `spec.prefill.minReplicas: must be >= 0`. */
export function formatErrors(errors: readonly ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const path = e.instancePath.slice(1).replace(/\//g, '.') || '<root>';
    const extra = e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty: string }).additionalProperty)})` : '';
    return `${path}: ${e.message ?? e.keyword}${extra}`;
  });
}
