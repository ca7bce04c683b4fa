/**
 * The JSON Schema → structural OpenAPI converter, construct by construct, and the rules the API
 * server enforces on a CRD schema, checked on the three generated CRDs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCrd } from '../src/crds/crd.ts';
import { CRD_DEFINITIONS } from '../src/crds/definitions.ts';
import { StructuralSchemaError, toStructural, type JsonSchema } from '../src/crds/structural.ts';
import { compileCrd, crdRootSchema, newAjv, toAjvSchema } from './crds-ajv.ts';

test('nullable, const and 2020-12 exclusive bounds become OpenAPI v3', () => {
  const out = toStructural({
    type: 'object',
    properties: {
      a: { type: ['string', 'null'] },
      b: { type: 'string', const: 'x' },
      c: { type: 'number', exclusiveMinimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    },
  });
  assert.deepEqual(out.properties, {
    a: { type: 'string', nullable: true },
    b: { type: 'string', enum: ['x'] },
    c: { type: 'number', minimum: 0, exclusiveMinimum: true },
  });
});

test('$ref is inlined with its siblings; a recursive schema fails naming the path', () => {
  const out = toStructural({
    $defs: { port: { type: 'integer', minimum: 1 } },
    type: 'object',
    properties: { p: { $ref: '#/$defs/port', description: 'the port' } },
  });
  assert.deepEqual(out.properties, { p: { type: 'integer', description: 'the port', minimum: 1 } });
  assert.throws(
    () => toStructural({ $defs: { n: { type: 'object', properties: { next: { $ref: '#/$defs/n' } } } }, type: 'object', properties: { root: { $ref: '#/$defs/n' } } }),
    (e: unknown) => e instanceof StructuralSchemaError && e.path === '.root.next' && /recursive/.test(e.message),
  );
});

test('int|string becomes x-kubernetes-int-or-string keeping the string pattern', () => {
  const out = toStructural({ anyOf: [{ type: 'integer' }, { type: 'string', pattern: '^[0-9]+m$' }] });
  assert.deepEqual(out, { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }], pattern: '^[0-9]+m$' });
});

test('a union of objects merges properties; required only where every branch agrees', () => {
  const out = toStructural({
    oneOf: [
      { type: 'object', properties: { kind: { type: 'string', enum: ['a'] }, x: { type: 'integer' } }, required: ['kind', 'x'] },
      { type: 'object', properties: { kind: { type: 'string', enum: ['b'] }, y: { type: 'string' } }, required: ['kind'] },
    ],
  });
  assert.deepEqual(out, {
    type: 'object',
    required: ['kind'],
    properties: { kind: { type: 'string', enum: ['a', 'b'] }, x: { type: 'integer' }, y: { type: 'string' } },
  });
});

test('a nullable union keeps its one live branch', () => {
  assert.deepEqual(toStructural({ anyOf: [{ type: 'integer' }, { type: 'null' }] }), { type: 'integer', nullable: true });
});

test('additionalProperties: false is dropped, free-form maps preserve unknown fields', () => {
  const out = toStructural({
    type: 'object',
    additionalProperties: false,
    properties: { params: { type: 'object', propertyNames: { type: 'string' }, additionalProperties: {} }, any: {} },
  });
  assert.deepEqual(out, {
    type: 'object',
    properties: {
      params: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      any: { 'x-kubernetes-preserve-unknown-fields': true },
    },
  });
});

test('constructs a CRD cannot hold fail with their path', () => {
  const cases: [JsonSchema, RegExp][] = [
    [{ type: 'object', properties: { m: { type: 'object', patternProperties: { '^x': { type: 'string' } } } } }, /^\.m: unsupported JSON Schema keyword "patternProperties"/],
    [{ type: 'object', properties: { u: { anyOf: [{ type: 'string' }, { type: 'boolean' }] } } }, /^\.u: a union of different types/],
    [{ type: 'object', properties: { t: { type: 'array', items: [{ type: 'string' }] } } }, /^\.t: tuple items/],
    [{ type: 'object', properties: { r: { $ref: '#/$defs/missing' } } }, /^\.r: unresolvable \$ref/],
  ];
  for (const [schema, message] of cases) {
    assert.throws(() => toStructural(schema), (e: unknown) => e instanceof StructuralSchemaError && message.test(e.message));
  }
});

// ── the generated CRDs obey the structural-schema rules of apiextensions.k8s.io/v1 ──────────────

const ALLOWED = new Set([
  'type', 'description', 'title', 'format', 'default', 'enum', 'pattern', 'minLength', 'maxLength', 'minimum', 'maximum',
  'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minItems', 'maxItems', 'minProperties', 'maxProperties',
  'required', 'nullable', 'properties', 'items', 'additionalProperties', 'anyOf', 'example',
  'x-kubernetes-validations', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type',
  'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string', 'x-kubernetes-embedded-resource',
]);

/** Every violation under `node` as `path: what`. */
function structuralViolations(node: JsonSchema, path: string, out: string[] = []): string[] {
  for (const k of Object.keys(node)) if (!ALLOWED.has(k)) out.push(`${path}: keyword ${k}`);
  const open = node['x-kubernetes-preserve-unknown-fields'] === true || node['x-kubernetes-int-or-string'] === true;
  if (node.type === undefined && !open) out.push(`${path}: no type`);
  if (node.additionalProperties === false) out.push(`${path}: additionalProperties false`);
  if (node.properties && node.additionalProperties) out.push(`${path}: properties with additionalProperties`);
  if (node.anyOf) {
    const types = JSON.stringify(node.anyOf);
    if (node['x-kubernetes-int-or-string'] !== true || types !== JSON.stringify([{ type: 'integer' }, { type: 'string' }])) out.push(`${path}: anyOf outside int-or-string`);
  }
  if (node.required) for (const r of node.required as string[]) if (!(node.properties as JsonSchema | undefined)?.[r]) out.push(`${path}: required ${r} is not a property`);
  for (const [k, v] of Object.entries((node.properties ?? {}) as Record<string, JsonSchema>)) structuralViolations(v, `${path}.${k}`, out);
  if (node.items) structuralViolations(node.items as JsonSchema, `${path}[]`, out);
  if (typeof node.additionalProperties === 'object') structuralViolations(node.additionalProperties as JsonSchema, `${path}.*`, out);
  return out;
}

/** Every node carrying CEL rules, with its path. */
function ruleNodes(node: JsonSchema, path: string, out: [string, JsonSchema][] = []): [string, JsonSchema][] {
  if (node['x-kubernetes-validations']) out.push([path, node]);
  for (const [k, v] of Object.entries((node.properties ?? {}) as Record<string, JsonSchema>)) ruleNodes(v, `${path}.${k}`, out);
  if (node.items) ruleNodes(node.items as JsonSchema, `${path}[]`, out);
  return out;
}

/** Every node with a default, with its path. */
function defaultNodes(node: JsonSchema, path: string, out: [string, JsonSchema][] = []): [string, JsonSchema][] {
  if (node.default !== undefined) out.push([path, node]);
  for (const [k, v] of Object.entries((node.properties ?? {}) as Record<string, JsonSchema>)) defaultNodes(v, `${path}.${k}`, out);
  if (node.items) defaultNodes(node.items as JsonSchema, `${path}[]`, out);
  if (typeof node.additionalProperties === 'object') defaultNodes(node.additionalProperties as JsonSchema, `${path}.*`, out);
  return out;
}

for (const def of CRD_DEFINITIONS) {
  const crd = buildCrd(def);
  const root = crdRootSchema(crd);

  test(`${def.kind}: the schema is structural`, () => {
    assert.deepEqual(structuralViolations(root, ''), []);
    assert.deepEqual((root.properties as JsonSchema).metadata, { type: 'object' });
  });

  test(`${def.kind}: every CEL rule names fields that exist where it is attached`, () => {
    for (const [path, node] of ruleNodes(root, '')) {
      for (const v of node['x-kubernetes-validations'] as { rule: string; fieldPath?: string }[]) {
        const refs = [...v.rule.matchAll(/self((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)].map((m) => m[1]);
        if (v.fieldPath) refs.push(v.fieldPath);
        assert.ok(refs.length > 0, `${path}: rule "${v.rule}" references no field`);
        for (const ref of refs) {
          let at: JsonSchema | undefined = node;
          for (const part of ref.split('.').slice(1)) at = (at?.properties as Record<string, JsonSchema> | undefined)?.[part];
          assert.ok(at, `${path}: rule "${v.rule}" references ${ref}, which is not in the schema`);
        }
      }
    }
  });

  test(`${def.kind}: every default is valid against its own schema`, () => {
    const ajv = newAjv();
    for (const [path, node] of defaultNodes(root, '')) {
      const validate = ajv.compile(toAjvSchema(node));
      assert.ok(validate(node.default), `${path}: default ${JSON.stringify(node.default)} is invalid: ${ajv.errorsText(validate.errors)}`);
    }
  });

  test(`${def.kind}: names, subresources and printer columns`, () => {
    const spec = crd.spec as { names: { kind: string; plural: string }; versions: { name: string; subresources: unknown; additionalPrinterColumns: { jsonPath: string }[] }[] };
    assert.equal((crd.metadata as { name: string }).name, `${def.plural}.duet.dev`);
    assert.equal(spec.names.kind, def.kind);
    assert.equal(spec.versions[0].name, 'v1alpha1');
    assert.deepEqual(spec.versions[0].subresources, { status: {} });
    for (const c of spec.versions[0].additionalPrinterColumns) assert.match(c.jsonPath, /^\.(spec|status|metadata)\./);
    compileCrd(newAjv(), crd); // compiles
  });
}
