/**
 * `npm start` (duet demo) as a user meets it: the first run creates the demo model in the cache
 * folder, answers each stdin line with streamed text and a token count, and exits at end of input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GENERATOR_VERSION } from '@duet/engine';

const BIN = fileURLToPath(new URL('../bin/duet.js', import.meta.url));

function runDemo(cacheDir: string, input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'demo', '--max-tokens', '6'], {
      env: { ...process.env, DUET_CACHE_DIR: cacheDir },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

test('duet demo creates the demo model once and answers each line', async () => {
  const cache = await mkdtemp(join(tmpdir(), 'duet-demo-'));
  try {
    const first = await runDemo(cache, 'hello there\n\nwhat is a kernel?\n');
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /creating the demo model/);
    assert.match(first.stdout, /Duet chat demo/);
    const replies = first.stdout.match(/\[\d+ tokens, \d+ prompt tokens, [\d.]+ tok\/s\]/g) ?? [];
    assert.equal(replies.length, 2, 'one reply per non-empty line');
    assert.deepEqual(await readdir(join(cache, 'models')), [`demo-llama-small-s0-g${GENERATOR_VERSION}`]);
    const second = await runDemo(cache, 'again\n');
    assert.equal(second.code, 0, second.stderr);
    assert.doesNotMatch(second.stdout, /creating the demo model/, 'the cached model is reused');
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
});
