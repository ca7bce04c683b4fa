/**
 * The generated code in src/gen must be exactly what `npm run proto:gen` produces from proto/:
 * regenerate into a temp folder with the same template and compare file by file.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const genDir = 'services/core/src/gen';
const env = { ...process.env, PATH: `${join(root, 'node_modules/.bin')}${delimiter}${process.env.PATH ?? ''}` };

function buf(args: string[]): string {
  const res = spawnSync('buf', args, { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
  if (res.error) throw new Error(`buf ${args.join(' ')} did not run (npm install at the root?)`, { cause: res.error });
  assert.equal(res.status, 0, `buf ${args.join(' ')} failed:\n${res.stdout}${res.stderr}`);
  return res.stdout;
}

function listFiles(dir: string, base = dir, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) listFiles(p, base, out);
    else out.push(relative(base, p));
  }
  return out.sort();
}

void describe('generated protobuf code', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'duet-proto-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  void it('is fresh: regenerating from proto/ changes nothing (run `npm run proto:gen` if this fails)', () => {
    buf(['generate', 'proto', '--template', 'proto/buf.gen.yaml', '-o', tmp]);
    const fresh = join(tmp, genDir);
    const checkedIn = join(root, genDir);
    assert.deepEqual(listFiles(checkedIn), listFiles(fresh), 'generated file set differs');
    for (const f of listFiles(fresh)) {
      assert.ok(readFileSync(join(checkedIn, f), 'utf8') === readFileSync(join(fresh, f), 'utf8'), `${genDir}/${f} is stale`);
    }
  });

  void it('passes buf lint (STANDARD rules)', () => {
    buf(['lint', 'proto']);
  });
});
