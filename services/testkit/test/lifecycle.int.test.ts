/** Start-up and shutdown: ports, stop(), and the errors a developer sees when something is off. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { connect } from 'nats';
import { MissingBinaryError, ServerStartError, isPortFree, startNats, startRedis } from '../src/index.ts';

void describe('server lifecycle', () => {
  void it('two servers at once get different ports, and stop() frees them', async () => {
    const [n1, n2, r1, r2] = await Promise.all([startNats(), startNats(), startRedis(), startRedis()]);
    try {
      const ports = [n1.port, n1.monitorPort, n2.port, n2.monitorPort, r1.port, r2.port];
      assert.equal(new Set(ports).size, ports.length, `ports ${ports.join(',')}`);
      for (const p of ports) assert.equal(await isPortFree(p), false, `port ${p} should be held`);
    } finally {
      await Promise.all([n1.stop(), n2.stop(), r1.stop(), r2.stop()]);
    }
    // stop() resolves only once the server process is gone, so the ports are free right away.
    for (const p of [n1.port, n1.monitorPort, n2.port, r1.port, r2.port]) assert.equal(await isPortFree(p), true, `port ${p} still held`);
    await assert.rejects(connect({ servers: n1.url, reconnect: false, timeout: 500 }));
    await n1.stop(); // idempotent
  });

  void it('JetStream is off by default and on when asked', async () => {
    const [plain, js] = await Promise.all([startNats(), startNats({ jetstream: true })]);
    const [ncPlain, ncJs] = await Promise.all([connect({ servers: plain.url }), connect({ servers: js.url })]);
    try {
      await assert.rejects(ncPlain.jetstreamManager({ timeout: 1000 }));
      const jsm = await ncJs.jetstreamManager({ timeout: 1000 });
      assert.equal((await jsm.getAccountInfo()).streams, 0);
    } finally {
      await Promise.all([ncPlain.close(), ncJs.close()]);
      await Promise.all([plain.stop(), js.stop()]);
    }
  });

  void it('a missing binary names the package to install', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'duet-empty-path-'));
    const saved = process.env.PATH;
    process.env.PATH = empty;
    try {
      await assert.rejects(startNats(), (e: unknown) => {
        assert.ok(e instanceof MissingBinaryError);
        assert.equal(e.aptPackage, 'nats-server');
        assert.match(e.message, /nats-server not found .*apt-get install -y nats-server/);
        assert.ok(e.message.includes(empty), 'says where it looked');
        return true;
      });
      await assert.rejects(startRedis(), /apt-get install -y redis-server/);
    } finally {
      process.env.PATH = saved;
      rmSync(empty, { recursive: true, force: true });
    }
    await assert.rejects(startNats({ binary: '/nonexistent/nats-server' }), MissingBinaryError);
  });

  void it('a server that dies during start-up fails fast with its output', async () => {
    const fake = fakeBinary('echo "fatal: bad config line 3" >&2; exit 1');
    const started = Date.now();
    try {
      await assert.rejects(startNats({ binary: fake.path, startTimeoutMs: 20_000 }), (e: unknown) => {
        assert.ok(e instanceof ServerStartError);
        assert.match(e.message, /exited during start-up \(code 1\)/);
        assert.match(e.logTail, /fatal: bad config line 3/);
        assert.match(e.message, /fatal: bad config line 3/);
        return true;
      });
      assert.ok(Date.now() - started < 5000, 'did not wait for the timeout');
    } finally {
      fake.remove();
    }
  });

  void it('a server that never becomes ready times out with a clear error', async () => {
    const fake = fakeBinary('echo "starting slowly"; exec sleep 60');
    try {
      await assert.rejects(startRedis({ binary: fake.path, startTimeoutMs: 300 }), (e: unknown) => {
        assert.ok(e instanceof ServerStartError);
        assert.match(e.message, /not ready after 300 ms/);
        assert.match(e.logTail, /starting slowly/);
        return true;
      });
    } finally {
      fake.remove();
    }
  });
});

/** An executable shell script standing in for a server binary. */
function fakeBinary(body: string): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'duet-fake-bin-'));
  const path = join(dir, 'fake-server');
  writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
