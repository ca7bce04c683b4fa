/**
 * docs/crd-reference.md, generated from the same structural schemas as the CRD YAML: one section
 * per kind with its printer columns, a validated example, every spec and status field (type,
 * default, constraints, description) and every CEL rule with the field it guards.
 */
import { stringify } from 'yaml';
import { DUET_API_VERSION } from './common.ts';
import { crdName, crdSchemaOf } from './crd.ts';
import type { CrdDefinition } from './definitions.ts';
import type { JsonSchema } from './structural.ts';

interface Row {
  path: string;
  type: string;
  required: boolean;
  node: JsonSchema;
}

interface Rule {
  path: string;
  rule: string;
  message: string;
}

function typeName(n: JsonSchema): string {
  if (n['x-kubernetes-int-or-string']) return 'int-or-string';
  if (n.type === 'array') return `[]${typeName((n.items ?? {}) as JsonSchema)}`;
  if (n.type === 'object' && n.additionalProperties) return `map[string]${typeName(n.additionalProperties as JsonSchema)}`;
  if (n.type === 'object' && !n.properties && n['x-kubernetes-preserve-unknown-fields']) return 'object (free-form)';
  return str(n.type ?? 'any') + (n.nullable ? ' (nullable)' : '');
}

/** Every field under `node`, depth first, in declaration order. */
function collect(node: JsonSchema, path: string, rows: Row[], rules: Rule[]): void {
  for (const v of (node['x-kubernetes-validations'] ?? []) as { rule: string; message: string }[]) rules.push({ path, rule: v.rule, message: v.message });
  const required = new Set((node.required ?? []) as string[]);
  for (const [name, child] of Object.entries((node.properties ?? {}) as Record<string, JsonSchema>)) {
    const p = `${path}.${name}`;
    rows.push({ path: p, type: typeName(child), required: required.has(name), node: child });
    descend(child, p, rows, rules);
  }
}

function descend(child: JsonSchema, p: string, rows: Row[], rules: Rule[]): void {
  if (child.type === 'object') collect(child, p, rows, rules);
  if (child.type === 'array' && (child.items as JsonSchema | undefined)?.type === 'object') collect(child.items as JsonSchema, `${p}[]`, rows, rules);
  const ap = child.additionalProperties as JsonSchema | undefined;
  if (ap?.type === 'object') collect(ap, `${p}.*`, rows, rules);
}

/** A scalar as text; anything else as JSON. */
const str = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : JSON.stringify(v));
const code = (v: unknown): string => `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``;
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function constraints(n: JsonSchema): string {
  const out: string[] = [];
  if (Array.isArray(n.enum)) out.push(`one of ${(n.enum as unknown[]).map(code).join(', ')}`);
  if (n.minimum !== undefined) out.push(`${n.exclusiveMinimum ? '>' : '≥'} ${str(n.minimum)}`);
  if (n.maximum !== undefined) out.push(`${n.exclusiveMaximum ? '<' : '≤'} ${str(n.maximum)}`);
  if (n.minLength !== undefined) out.push(`length ≥ ${str(n.minLength)}`);
  if (n.maxLength !== undefined) out.push(`length ≤ ${str(n.maxLength)}`);
  if (n.minItems !== undefined) out.push(`items ≥ ${str(n.minItems)}`);
  if (n.maxItems !== undefined) out.push(`items ≤ ${str(n.maxItems)}`);
  if (n.pattern !== undefined) out.push(`pattern ${code(n.pattern)}`);
  if (n['x-kubernetes-list-type'] === 'map') out.push(`list keyed by ${(n['x-kubernetes-list-map-keys'] as string[]).join(', ')}`);
  return out.join('; ');
}

function fieldTable(rows: Row[]): string {
  const lines = ['| field | type | default | constraints | description |', '|---|---|---|---|---|'];
  for (const r of rows) {
    const def = r.node.default === undefined ? (r.required ? '**required**' : '') : cell(code(r.node.default));
    lines.push(`| \`${r.path}\` | ${cell(r.type)} | ${def} | ${cell(constraints(r.node))} | ${cell(typeof r.node.description === 'string' ? r.node.description : '')} |`);
  }
  return lines.join('\n');
}

function rulesTable(rules: Rule[]): string {
  if (rules.length === 0) return '_No cross-field rules._';
  const lines = ['| on | CEL rule | message |', '|---|---|---|'];
  for (const r of rules) lines.push(`| \`${r.path}\` | \`${cell(r.rule)}\` | ${cell(r.message)} |`);
  return lines.join('\n');
}

function section(def: CrdDefinition, example: unknown): string {
  const schema = crdSchemaOf(def);
  const props = schema.properties as Record<string, JsonSchema>;
  const spec: Row[] = [];
  const status: Row[] = [];
  const rules: Rule[] = [];
  collect(props.spec, 'spec', spec, rules);
  collect(props.status, 'status', status, []);
  const columns = ['| column | JSON path | shown |', '|---|---|---|', ...def.printerColumns.map((c) => `| ${c.name} | \`${cell(c.jsonPath)}\` | ${c.priority ? '`-o wide`' : 'always'} |`)];
  return [
    `## ${def.kind}`,
    '',
    def.description,
    '',
    `\`${DUET_API_VERSION}\`, namespaced, CRD \`${crdName(def)}\`, short names ${def.shortNames.map((s) => `\`${s}\``).join(', ')}; subresources: status.`,
    '',
    '```yaml',
    stringify(example, { lineWidth: 0 }).trimEnd(),
    '```',
    '',
    '### Printer columns',
    '',
    columns.join('\n'),
    '',
    '### Spec',
    '',
    fieldTable(spec),
    '',
    '### Validation rules (CEL, checked by the API server and by the operator)',
    '',
    rulesTable(rules),
    '',
    '### Status',
    '',
    fieldTable(status),
    '',
  ].join('\n');
}

/** The whole reference page. `examples` maps kind → the example object shown (and tested). */
export function renderCrdReference(defs: readonly CrdDefinition[], examples: Record<string, unknown>): string {
  const head = [
    '# CRD reference',
    '',
    '<!-- Generated by `npm run crds:gen` from operator/src/crds (zod schemas). Do not edit by hand. -->',
    '',
    `Group \`duet.dev\`, version \`v1alpha1\`. The CRDs ship in the Helm chart (\`charts/duet/crds/\`); every`,
    'field below is generated from the zod schemas the operator, router and planner parse, so the API',
    'server, the operator and this page agree. Defaults are filled by the API server.',
    '',
    ...defs.map((d) => `- [${d.kind}](#${d.kind.toLowerCase()})`),
    '',
  ];
  return [...head, ...defs.map((d) => section(d, examples[d.kind]))].join('\n');
}
