/** Worker options: flags over env over defaults, derived defaults, bad values named by flag and env. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '@duet/core';
import { parseWorkerConfig } from '../src/index.ts';

test('defaults, derived worker id and model name; flags win over env', () => {
  const c = parseWorkerConfig({ argv: ['--role', 'decode', '--model-dir', '/m/tiny-llama/', '--kv-cache-mib', '64'], env: { DUET_KV_CACHE_MIB: '32', DUET_TRANSPORT: 'tcp' } });
  assert.equal(c.workerId, `decode-${process.pid}`);
  assert.equal(c.modelName, 'tiny-llama');
  assert.equal(c.kvCacheMib, 64);
  assert.equal(c.transport, 'tcp');
  assert.equal(c.heartbeatIntervalMs, 1000);
  assert.equal(c.transferTimeoutMs, 10_000);
});

test('a bad value names its flag and env; a worker id may not hold a dot', () => {
  assert.throws(() => parseWorkerConfig({ argv: ['--model-dir', 'x', '--role', 'router'], env: {} }), (e: Error) => e instanceof ConfigError && /--role \(DUET_ROLE\)/.test(e.message));
  assert.throws(() => parseWorkerConfig({ argv: ['--model-dir', 'x', '--worker-id', 'a.b'], env: {} }), ConfigError);
  assert.throws(() => parseWorkerConfig({ argv: [], env: {} }), /--model-dir/);
});

test('threads: auto by default, a positive integer from a flag or env, anything else refused', () => {
  assert.equal(parseWorkerConfig({ argv: ['--model-dir', 'x'], env: {} }).threads, 'auto');
  assert.equal(parseWorkerConfig({ argv: ['--model-dir', 'x', '--threads', '1'], env: { DUET_THREADS: '2' } }).threads, 1);
  assert.equal(parseWorkerConfig({ argv: ['--model-dir', 'x'], env: { DUET_THREADS: '2' } }).threads, 2);
  assert.equal(parseWorkerConfig({ argv: ['--model-dir', 'x', '--threads', 'auto'], env: {} }).threads, 'auto');
  for (const bad of ['0', '1.5', 'many']) {
    assert.throws(() => parseWorkerConfig({ argv: ['--model-dir', 'x', '--threads', bad], env: {} }), (e: Error) => e instanceof ConfigError && /--threads \(DUET_THREADS\)/.test(e.message));
  }
});
