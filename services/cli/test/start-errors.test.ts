/** `duet start` without nats-server on PATH fails with one line saying how to install it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModel } from '@duet/engine';

const BIN = fileURLToPath(new URL('../bin/duet.js', import.meta.url));

test('a missing nats-server gives one clear line naming the package to install', async () => {
  const work = await mkdtemp(join(tmpdir(), 'duet-nonats-'));
  try {
    const dir = join(work, 'tiny');
    await createModel({ arch: 'llama', preset: 'tiny', seed: 1, outDir: dir });
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: dirname(process.execPath), DUET_CACHE_DIR: work };
    delete env.NATS_URL;
    const child = spawn(process.execPath, [BIN, 'start', '--model', dir, '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 1);
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0], /nats-server/);
    assert.match(lines[0], /apt-get install -y nats-server/);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
