#!/usr/bin/env node
// Runs every *.test.ts under services/*/test (and operator/, loadtest/ once they exist) with Node's
// built-in test runner and tsx. Node 20's `--test` does not expand globs, so we list files here.
// `--unit` skips integration tests (*.int.test.ts). Extra arguments filter by path substring.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const filters = args.filter((a) => !a.startsWith('--'));

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const roots = ['services', 'operator', 'loadtest'].map((d) => join(root, d));
let files = roots.flatMap((d) => { try { return walk(d, []); } catch { return []; } });
if (unitOnly) files = files.filter((f) => !f.endsWith('.int.test.ts'));
if (filters.length) files = files.filter((f) => filters.some((s) => f.includes(s)));
files = files.map((f) => relative(root, f)).sort();
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}
const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(res.status ?? 1);
