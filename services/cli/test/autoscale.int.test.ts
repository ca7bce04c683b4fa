/**
 * `duet start --autoscale` for real: router, gateway and worker processes on a real nats-server,
 * the local autoscaler adding a decode process under load and, once idle, draining one and
 * stopping it — without the platform treating that exit as a death — and still serving after.
 *
 *   1 prefill + 1 decode, runningSequencesPerReplica 1, decode max 2, 1 s interval, 2 s down window
 *   three streams at a time, until it grows → decode 1 → 2 (a new `decode-1` process)
 *   all streams complete   (every token, no error)
 *   idle                   → decode 2 → 1 after a drain; the platform's `died` stays pending
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { createModel } from '@duet/engine';
import { parseScalingPolicySpec } from '@duet/operator';
import { freePort } from '@duet/testkit';
import { startLocalAutoscaler, type LocalAutoscaler } from '../src/commands/autoscale.ts';
import type { LaunchOptions } from '../src/launcher/plan.ts';
import { launchPlatform, type Platform } from '../src/launcher/platform.ts';

let work = '';
let platform: Platform | undefined;
let scaler: LocalAutoscaler | undefined;
let dir = '';

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'duet-autoscale-'));
  dir = join(work, 'tiny-llama');
  await createModel({ arch: 'llama', preset: 'tiny', seed: 5, outDir: dir });
});
after(async () => {
  await scaler?.stop();
  await platform?.stop();
  await rm(work, { recursive: true, force: true });
});

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('the local autoscaler grows and shrinks worker processes, draining before it stops one', async () => {
  const launch: Omit<LaunchOptions, 'natsUrl' | 'redisUrl'> = { port: await freePort(), host: '127.0.0.1', modelDir: dir, prefill: 1, decode: 1, transport: 'nats', backend: 'wasm', kvCacheMib: 16 };
  platform = await launchPlatform({ ...launch, logDir: join(work, 'logs'), readyTimeoutMs: 120_000 });
  const policy = parseScalingPolicySpec({
    intervalSeconds: 1,
    prefill: { minReplicas: 1, maxReplicas: 1 },
    decode: { minReplicas: 1, maxReplicas: 2, scaleDown: { stabilizationWindowSeconds: 2 }, thresholds: { runningSequencesPerReplica: 1, kvUtilization: 1 } },
  });
  scaler = await startLocalAutoscaler(platform, { ...launch, natsUrl: platform.natsUrl, redisUrl: platform.redisUrl }, policy);
  let died = false;
  void platform.died.then(() => (died = true));
  void scaler.died.then(() => (died = true));
  const client = new OpenAI({ baseURL: `${platform.gatewayUrl}/v1`, apiKey: 'unused' });
  const stream = async (): Promise<{ tokens: number; finish: string | null }> => {
    const r = await client.completions.create({ model: 'tiny-llama', prompt: 'the kernel compiles the tensor', max_tokens: 400, temperature: 0, stream: true });
    let tokens = 0;
    let finish: string | null = null;
    for await (const c of r) {
      tokens += c.choices[0]?.text !== undefined ? 1 : 0;
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    return { tokens, finish };
  };

  const decodeProcs = (): string[] => platform!.children.filter((c) => c.spec.name.startsWith('decode-') && c.proc.exitCode === null && c.proc.signalCode === null).map((c) => c.spec.name);
  // Three streams at a time, each replaced when it ends, until the pool has grown: the load lasts as
  // long as the autoscaler needs to see it, however fast this machine decodes.
  const results: Array<Promise<{ tokens: number; finish: string | null }>> = [];
  let loading = true;
  const lane = async (): Promise<void> => {
    while (loading) {
      const r = stream();
      results.push(r);
      await r;
    }
  };
  const lanes = [lane(), lane(), lane()];
  await until('a second decode process', () => decodeProcs().length === 2).finally(() => (loading = false));
  assert.deepEqual(decodeProcs(), ['decode-0', 'decode-1']);
  await Promise.all(lanes);
  for (const r of await Promise.all(results)) assert.equal(r.finish, 'length');

  await until('the idle pool back to one decode process', async () => decodeProcs().length === 1 && (await scaler!.autoscaler.actuator.current()).decode === 1);
  assert.equal(died, false, 'a drained worker stopping is not a platform failure');
  const r = await client.completions.create({ model: 'tiny-llama', prompt: 'still serving', max_tokens: 4, temperature: 0 });
  assert.equal(r.choices[0].finish_reason, 'length');
});
