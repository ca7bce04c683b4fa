/**
 * The committed generated files (CRD YAML, docs/crd-reference.md, values.schema.json, the README values
 * table, the chart copies of the dashboard and rules) match what `npm run crds:gen` would write.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { generatedFiles } from '../src/crds/generate.ts';

const root = join(import.meta.dirname, '..', '..');

for (const f of generatedFiles(root)) {
  test(`${f.path} is up to date (else: npm run crds:gen)`, () => {
    let committed: string;
    try {
      committed = readFileSync(join(root, f.path), 'utf8');
    } catch {
      assert.fail(`${f.path} is missing: run npm run crds:gen`);
    }
    assert.ok(committed === f.content, `${f.path} is stale: run npm run crds:gen`);
  });
}

test('every generated CRD file is one YAML document of kind CustomResourceDefinition', () => {
  const crds = generatedFiles(root).filter((f) => f.path.startsWith('charts/duet/crds/'));
  assert.equal(crds.length, 3);
  for (const f of crds) assert.equal((parse(f.content) as { kind: string }).kind, 'CustomResourceDefinition');
});
