/** The launcher's pure plan: which processes `npm start` runs, with which flags. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launchPlan, workerSpec, type LaunchOptions } from '../src/launcher/plan.ts';

const base: LaunchOptions = {
  natsUrl: 'nats://127.0.0.1:1', redisUrl: null, modelDir: '/m', port: 8080, host: '127.0.0.1',
  prefill: 1, decode: 2, transport: 'nats', backend: 'wasm', kvCacheMib: 64,
};

test('one router, the worker pools and one gateway; roles follow the ids', () => {
  const names = launchPlan(base).map((c) => c.name);
  assert.deepEqual(names, ['router', 'prefill-0', 'decode-0', 'decode-1', 'gateway']);
  const role = (id: string, o = base): string => { const a = workerSpec(o, id).args; return a[a.indexOf('--role') + 1]; };
  assert.equal(role('prefill-0'), 'prefill');
  assert.equal(role('decode-1'), 'decode');
  assert.equal(role('decode-0', { ...base, prefill: 0 }), 'both');
});

test('--threads reaches every worker only when given', () => {
  assert.ok(!workerSpec(base, 'decode-0').args.includes('--threads'));
  for (const threads of [1, 'auto'] as const) {
    const args = workerSpec({ ...base, threads }, 'decode-0').args;
    assert.equal(args[args.indexOf('--threads') + 1], String(threads));
  }
});
