/**
 * `npm run crds:gen` — writes the CRD YAML (charts/duet/crds/) and docs/crd-reference.md from the
 * zod schemas. `--check` writes nothing and exits 1 listing the stale files.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedFiles } from './generate.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

async function current(path: string): Promise<string | null> {
  return readFile(join(root, path), 'utf8').catch(() => null);
}

async function main(): Promise<number> {
  const check = process.argv.includes('--check');
  const stale: string[] = [];
  for (const f of generatedFiles(root)) {
    if ((await current(f.path)) === f.content) continue;
    stale.push(f.path);
    if (check) continue;
    await mkdir(join(root, dirname(f.path)), { recursive: true });
    await writeFile(join(root, f.path), f.content);
  }
  if (check && stale.length > 0) {
    console.error(`stale generated files (run npm run crds:gen):\n  ${stale.join('\n  ')}`);
    return 1;
  }
  console.log(stale.length ? `wrote ${stale.join(', ')}` : 'generated files are up to date');
  return 0;
}

main().then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
