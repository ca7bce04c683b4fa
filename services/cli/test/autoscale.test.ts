/**
 * `duet start --autoscale` pieces that need no processes: the ScalingPolicy file (YAML or JSON,
 * wrapped in a ScalingPolicy object or not; errors name the file and field), the initial pool
 * sizes moved inside the policy, the console line of a resize, and the flag rules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { plan, parseScalingPolicySpec } from '@duet/operator';
import { noSignals } from '@duet/operator/planner';
import { describeChanges, initialPools, loadScalingPolicy } from '../src/commands/autoscale.ts';
import { main } from '../src/main.ts';

async function withFile(name: string, text: string, fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'duet-policy-'));
  try {
    await writeFile(join(dir, name), text);
    await fn(join(dir, name));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('no file: the default policy', async () => {
  assert.deepEqual(await loadScalingPolicy(undefined), parseScalingPolicySpec({}));
});

test('a ScalingPolicy object (YAML) or a bare spec (JSON) both load', async () => {
  const yaml = 'apiVersion: duet.dev/v1alpha1\nkind: ScalingPolicy\nmetadata: {name: fast}\nspec:\n  intervalSeconds: 5\n  decode:\n    maxReplicas: 3\n';
  await withFile('p.yaml', yaml, async (f) => {
    const p = await loadScalingPolicy(f);
    assert.equal(p.intervalSeconds, 5);
    assert.equal(p.decode.maxReplicas, 3);
  });
  await withFile('p.json', '{"prefill": {"maxReplicas": 2}}', async (f) => assert.equal((await loadScalingPolicy(f)).prefill.maxReplicas, 2));
});

test('a bad policy names the file and the path of the bad field', async () => {
  await withFile('bad.yaml', 'spec:\n  decode:\n    thresholds:\n      kvUtilization: 3\n', async (f) => {
    await assert.rejects(loadScalingPolicy(f), (err: Error) => err.message.includes(f) && err.message.includes('spec.decode.thresholds.kvUtilization'));
  });
  await withFile('bare.json', '{"intervalSeconds": 0}', async (f) => {
    await assert.rejects(loadScalingPolicy(f), (err: Error) => /: intervalSeconds: /.test(err.message));
  });
  await withFile('broken.yaml', 'a: [', async (f) => assert.rejects(loadScalingPolicy(f), /--scaling-policy/));
});

test('initial pools: the requested sizes moved inside bounds and ratio', () => {
  const p = parseScalingPolicySpec({ prefill: { minReplicas: 2, maxReplicas: 4 }, decode: { maxReplicas: 3 }, prefillToDecodeRatio: { min: 1, max: 2 } });
  assert.deepEqual(initialPools(p, { prefill: 1, decode: 1 }), { prefill: 2, decode: 1 });
  assert.deepEqual(initialPools(p, { prefill: 1, decode: 5 }), { prefill: 3, decode: 3 }, 'decode capped at 3; prefill raised to the ratio');
});

test('a resize prints one line per pool with its reasons', () => {
  const policy = parseScalingPolicySpec({});
  const p = plan({ policy, signals: { ...noSignals(), decode: { kvUtilization: null, runningSequences: 96, tpotP90Ms: null } }, current: { prefill: 1, decode: 1 }, nowMs: 0 });
  assert.deepEqual(describeChanges(p), ['duet: autoscale decode 1 → 3: running-sequences 96 vs target 32 → 3']);
});

test('--scaling-policy without --autoscale is a usage error (exit 2)', async () => {
  const errors: string[] = [];
  const orig = console.error;
  console.error = (m: string) => void errors.push(m);
  try {
    assert.equal(await main(['start', '--scaling-policy', 'x.yaml']), 2);
  } finally {
    console.error = orig;
  }
  assert.match(errors.join('\n'), /--scaling-policy needs --autoscale/);
});

test("the README's --scaling-policy example is a valid policy", async () => {
  const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
  const yaml = /<<'YAML'\n([\s\S]*?)\nYAML\n/.exec(readme)?.[1];
  assert.ok(yaml, 'the README has the example');
  await withFile('policy.yaml', yaml, async (f) => {
    const p = await loadScalingPolicy(f);
    assert.equal(p.intervalSeconds, 5);
    assert.equal(p.decode.maxReplicas, 4);
    assert.equal(p.decode.scaleDown.stabilizationWindowSeconds, 60);
  });
});
