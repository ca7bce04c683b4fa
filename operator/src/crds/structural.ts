/**
 * JSON Schema (draft 2020-12, as `z.toJSONSchema` writes it) → a *structural* OpenAPI v3 schema,
 * the dialect `apiextensions.k8s.io/v1` accepts in a CRD's `openAPIV3Schema`:
 *
 *   JSON Schema (zod)                         structural OpenAPI v3 (Kubernetes)
 *   ─────────────────────────────────────     ─────────────────────────────────────────────────
 *   $ref / $defs                              inlined (a cycle is an error: CRDs cannot recurse)
 *   type: [T, "null"]                         type: T, nullable: true
 *   const: v                                  enum: [v]
 *   anyOf [int|number, string]                x-kubernetes-int-or-string: true (+ the anyOf, types only)
 *   anyOf/oneOf of objects                    one object: union of properties, required ∩
 *   anyOf/oneOf of same-typed scalars         one scalar, enums merged
 *   allOf                                     merged into one node
 *   additionalProperties: {} / unknown        x-kubernetes-preserve-unknown-fields: true
 *   additionalProperties: false               dropped (v1 forbids false; pruning drops unknowns)
 *   exclusiveMinimum: n (2020)                minimum: n, exclusiveMinimum: true (OpenAPI 3.0)
 *   ±MAX_SAFE_INTEGER bounds, propertyNames,  dropped (zod artefacts / not in JSONSchemaProps)
 *   $schema, $id, id, examples, uniqueItems
 *
 * Everything else that JSONSchemaProps knows is copied; anything unknown fails with its path, so a
 * new zod construct cannot slip into a CRD the API server would reject.
 */

export type JsonSchema = Record<string, unknown>;

export class StructuralSchemaError extends Error {
  override name = 'StructuralSchemaError';
  constructor(readonly path: string, message: string) {
    super(`${path || '<root>'}: ${message}`);
  }
}

/** Keys copied as they are (JSONSchemaProps fields and the x-kubernetes extensions). */
const COPIED = new Set([
  'description', 'title', 'format', 'default', 'enum', 'pattern', 'minLength', 'maxLength', 'minimum', 'maximum',
  'multipleOf', 'minItems', 'maxItems', 'minProperties', 'maxProperties', 'required', 'nullable', 'example',
  'x-kubernetes-validations', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type',
  'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string', 'x-kubernetes-embedded-resource',
]);
/** Keys handled below (structure) or deliberately dropped. */
const HANDLED = new Set(['type', 'properties', 'items', 'additionalProperties', 'anyOf', 'oneOf', 'allOf', 'const', '$ref', 'exclusiveMinimum', 'exclusiveMaximum']);
const DROPPED = new Set(['$schema', '$id', 'id', '$defs', 'definitions', 'propertyNames', 'examples', 'uniqueItems', 'readOnly', 'writeOnly', '$comment']);
const SAFE = Number.MAX_SAFE_INTEGER;

interface Ctx {
  defs: Record<string, JsonSchema>;
  resolving: string[];
}

/** Converts a whole schema (its `$defs` are used to inline references). */
export function toStructural(schema: JsonSchema): JsonSchema {
  const defs = { ...((schema.$defs ?? {}) as Record<string, JsonSchema>), ...((schema.definitions ?? {}) as Record<string, JsonSchema>) };
  return ordered(convert(schema, '', { defs, resolving: [] }));
}

/** Readable key order in the YAML: type and description first, nested schemas last. */
const FIRST = ['type', 'description'];
const LAST = ['required', 'x-kubernetes-validations', 'properties', 'additionalProperties', 'items'];
function ordered(node: JsonSchema): JsonSchema {
  const rank = (k: string): number => (FIRST.includes(k) ? FIRST.indexOf(k) - 10 : LAST.includes(k) ? LAST.indexOf(k) + 1 : 0);
  const keys = Object.keys(node).sort((a, b) => rank(a) - rank(b));
  const out: JsonSchema = {};
  for (const k of keys) {
    const v = node[k];
    if (k === 'properties') out[k] = Object.fromEntries(Object.entries(v as Record<string, JsonSchema>).map(([n, s]) => [n, ordered(s)]));
    else if (k === 'items' || k === 'additionalProperties') out[k] = typeof v === 'object' && v !== null ? ordered(v as JsonSchema) : v;
    else out[k] = v;
  }
  return out;
}

function convert(node: JsonSchema, path: string, ctx: Ctx): JsonSchema {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) throw new StructuralSchemaError(path, 'schema must be an object');
  if (typeof node.$ref === 'string') return convertRef(node, path, ctx);
  if (Array.isArray(node.allOf)) return convert(mergeAll(node, node.allOf as JsonSchema[], path), path, ctx);
  const union = (node.anyOf ?? node.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(union)) return convertUnion(node, union, path, ctx);

  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(node)) {
    if (COPIED.has(k)) out[k] = v;
    else if (!HANDLED.has(k) && !DROPPED.has(k)) throw new StructuralSchemaError(path, `unsupported JSON Schema keyword "${k}"`);
  }
  applyType(node, out, path);
  if ('const' in node) out.enum = [node.const];
  applyBounds(node, out);
  if (node.properties) {
    const props: JsonSchema = {};
    for (const [name, sub] of Object.entries(node.properties as Record<string, JsonSchema>)) props[name] = convert(sub, `${path}.${name}`, ctx);
    out.properties = props;
  }
  if (node.items !== undefined) {
    if (Array.isArray(node.items)) throw new StructuralSchemaError(path, 'tuple items are not structural');
    out.items = convert(node.items as JsonSchema, `${path}[]`, ctx);
  }
  applyAdditional(node, out, path, ctx);
  if (out.type === undefined && out['x-kubernetes-preserve-unknown-fields'] !== true && out['x-kubernetes-int-or-string'] !== true) {
    if (isEmptySchema(node)) return { ...out, 'x-kubernetes-preserve-unknown-fields': true };
    throw new StructuralSchemaError(path, 'a structural schema needs a type here');
  }
  return out;
}

function convertRef(node: JsonSchema, path: string, ctx: Ctx): JsonSchema {
  const ref = node.$ref as string;
  const m = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(ref);
  if (!m || !ctx.defs[m[1]]) throw new StructuralSchemaError(path, `unresolvable $ref "${ref}"`);
  if (ctx.resolving.includes(m[1])) throw new StructuralSchemaError(path, `recursive schema "${m[1]}" cannot be a CRD`);
  const { $ref: _ref, ...siblings } = node;
  return convert({ ...ctx.defs[m[1]], ...siblings }, path, { ...ctx, resolving: [...ctx.resolving, m[1]] });
}

function pick(o: JsonSchema, keys: string[]): JsonSchema {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}

function isEmptySchema(node: JsonSchema): boolean {
  return Object.keys(node).every((k) => COPIED.has(k) || DROPPED.has(k));
}

function applyType(node: JsonSchema, out: JsonSchema, path: string): void {
  const t = node.type;
  if (t === undefined) return;
  const types = (Array.isArray(t) ? t : [t]) as string[];
  const nonNull = types.filter((x) => x !== 'null');
  if (nonNull.length !== 1) throw new StructuralSchemaError(path, `type ${JSON.stringify(t)} is not structural (one type, optionally nullable)`);
  out.type = nonNull[0];
  if (types.includes('null')) out.nullable = true;
  if (Array.isArray(out.enum)) {
    const values = (out.enum as unknown[]).filter((v) => v !== null);
    out.enum = values;
  }
}

function applyBounds(node: JsonSchema, out: JsonSchema): void {
  if (out.maximum === SAFE) delete out.maximum;
  if (out.minimum === -SAFE) delete out.minimum;
  if (typeof node.exclusiveMinimum === 'number') Object.assign(out, { minimum: node.exclusiveMinimum, exclusiveMinimum: true });
  if (typeof node.exclusiveMaximum === 'number') Object.assign(out, { maximum: node.exclusiveMaximum, exclusiveMaximum: true });
}

function applyAdditional(node: JsonSchema, out: JsonSchema, path: string, ctx: Ctx): void {
  const ap = node.additionalProperties;
  if (ap === undefined || ap === false) return;
  if (ap === true || (typeof ap === 'object' && ap !== null && isEmptySchema(ap as JsonSchema) && !('type' in (ap as JsonSchema)))) {
    out['x-kubernetes-preserve-unknown-fields'] = true;
    return;
  }
  if (node.properties) throw new StructuralSchemaError(path, 'properties and a typed additionalProperties cannot be combined');
  out.additionalProperties = convert(ap as JsonSchema, `${path}.*`, ctx);
}

/** allOf → one node (properties merged, required unioned; conflicting scalars fail). */
function mergeAll(node: JsonSchema, parts: JsonSchema[], path: string): JsonSchema {
  const { allOf: _a, ...rest } = node;
  let merged: JsonSchema = rest;
  for (const p of parts) {
    const props = { ...((merged.properties ?? {}) as JsonSchema), ...((p.properties ?? {}) as JsonSchema) };
    const required = [...new Set([...((merged.required ?? []) as string[]), ...((p.required ?? []) as string[])])];
    if (merged.type !== undefined && p.type !== undefined && JSON.stringify(merged.type) !== JSON.stringify(p.type)) {
      throw new StructuralSchemaError(path, `allOf mixes types ${JSON.stringify(merged.type)} and ${JSON.stringify(p.type)}`);
    }
    merged = { ...merged, ...p, ...(Object.keys(props).length ? { properties: props } : {}), ...(required.length ? { required } : {}) };
  }
  return merged;
}

function convertUnion(node: JsonSchema, branches: JsonSchema[], path: string, ctx: Ctx): JsonSchema {
  const { anyOf: _a, oneOf: _o, ...outer } = node;
  const isNull = (b: JsonSchema): boolean => b.type === 'null' || (Array.isArray(b.enum) && b.enum.every((v) => v === null));
  const nullable = branches.some(isNull);
  const live = branches.filter((b) => !isNull(b)).map((b, i) => convert(b, `${path}|${i}`, ctx));
  const types = new Set(live.map((b) => (b.type === 'number' ? 'integer' : b.type)));
  for (const k of Object.keys(outer)) if (!COPIED.has(k) && !DROPPED.has(k)) throw new StructuralSchemaError(path, `unsupported keyword "${k}" beside a union`);
  const base = { ...pick(outer, [...COPIED]), ...(nullable ? { nullable: true } : {}) };
  if (types.size === 2 && types.has('integer') && types.has('string')) {
    // The string branch's pattern moves up (as in core ResourceList quantities); it applies to strings only.
    const pattern = live.find((b) => b.type === 'string')?.pattern;
    return { ...base, 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }], ...(pattern ? { pattern } : {}) };
  }
  if (live.length === 1) return { ...live[0], ...base };
  if (types.size !== 1 || live.some((b) => b.type === undefined)) throw new StructuralSchemaError(path, 'a union of different types is not structural');
  const type = live[0].type as string;
  if (type === 'object') return { ...mergeObjects(live), ...base };
  if (type === 'array') throw new StructuralSchemaError(path, 'a union of array schemas is not structural');
  const enums = live.every((b) => Array.isArray(b.enum)) ? [...new Set(live.flatMap((b) => b.enum as unknown[]))] : undefined;
  return { type, ...(enums ? { enum: enums } : {}), ...base };
}

/** Union of object branches: every property of any branch; required only where all branches agree. */
function mergeObjects(branches: JsonSchema[]): JsonSchema {
  const props: JsonSchema = {};
  for (const b of branches) {
    for (const [k, v] of Object.entries((b.properties ?? {}) as Record<string, JsonSchema>)) {
      const prev = props[k] as JsonSchema | undefined;
      if (prev && Array.isArray(prev.enum) && Array.isArray(v.enum)) props[k] = { ...prev, enum: [...new Set([...(prev.enum as unknown[]), ...(v.enum as unknown[])])] };
      else props[k] = prev ?? v;
    }
  }
  const required = branches.map((b) => (b.required ?? []) as string[]).reduce((acc, r) => acc.filter((x) => r.includes(x)));
  const preserve = branches.some((b) => b['x-kubernetes-preserve-unknown-fields'] === true);
  return { type: 'object', properties: props, ...(required.length ? { required } : {}), ...(preserve ? { 'x-kubernetes-preserve-unknown-fields': true } : {}) };
}
