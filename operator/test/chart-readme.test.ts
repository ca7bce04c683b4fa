/**
 * Every value in charts/duet/values.yaml is documented in charts/duet/README.md (a leaf, or a map
 * documented as a whole), and the README documents no value that does not exist.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { renderChartReadme, valueDocs, VALUES_END, VALUES_START } from '../src/crds/chart-readme.ts';
import { CHART_DIR } from './chart-helm.ts';

const valuesYaml = readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8');
const readme = readFileSync(join(CHART_DIR, 'README.md'), 'utf8');

/** Every leaf path of a values tree (scalars, lists, empty maps). */
function leaves(v: unknown, prefix = ''): string[] {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) {
    return Object.entries(v).flatMap(([k, c]) => leaves(c, prefix ? `${prefix}.${k}` : k));
  }
  return [prefix];
}

/** Paths documented in the README's values table. */
function documented(): string[] {
  const block = readme.slice(readme.indexOf(VALUES_START), readme.indexOf(VALUES_END));
  return [...block.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]);
}

test('every leaf value of values.yaml is documented in the README', () => {
  const docs = documented();
  assert.ok(docs.length > 50);
  const missing = leaves(parse(valuesYaml)).filter((leaf) => !docs.some((d) => leaf === d || leaf.startsWith(`${d}.`)));
  assert.deepEqual(missing, []);
});

test('the README documents only values that exist', () => {
  const all = new Set(leaves(parse(valuesYaml)).flatMap((l) => l.split('.').map((_, i, parts) => parts.slice(0, i + 1).join('.'))));
  assert.deepEqual(documented().filter((d) => !all.has(d)), []);
});

test('an undocumented value is an error naming it', () => {
  assert.throws(() => valueDocs('image:\n  # -- documented\n  repository: duet\n  tag: ""\n'), /values\.yaml: image\.tag has no "# -- description" comment/);
  assert.throws(() => renderChartReadme('# no markers', valuesYaml), /missing the/);
});
