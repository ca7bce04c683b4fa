/**
 * Prefix-aware routing end to end on the local platform (processes as `npm start` runs them, 2
 * prefill + 2 decode workers, the prefix-load policy): requests sharing a long system prompt land
 * on the prefill worker that holds it, so every request after the first reports the shared blocks
 * as cached (usage.prompt_tokens_details.cached_tokens) and only that worker counts prefix hits.
 * Round-robin would send the second request to the other prefill worker (no hit).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModel } from '@duet/engine';
import { freePort } from '@duet/testkit';
import { launchPlatform, type Platform } from '../src/launcher/platform.ts';

const SYSTEM = 'You are the kernel assistant. The tensor compiler lowers every graph to fused kernels, the theorem prover checks each rewrite, and the scheduler batches the requests by prefix. '.repeat(2);

async function metric(p: Platform, name: string, metricName: string): Promise<number> {
  const child = p.children.find((c) => c.spec.name === name)!;
  const ready = (await readFile(child.logFile, 'utf8')).split('\n').find((l) => l.includes('"worker ready"'));
  const port = (JSON.parse(ready!) as { metricsPort: number }).metricsPort;
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(metricName + ' ') || l.startsWith(metricName + '{'));
  if (!line) throw new Error(`${metricName} not in ${name}'s metrics`);
  return Number(line.split(' ').at(-1));
}

interface Usage {
  prompt_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

describe('prefix-aware routing on the local platform', () => {
  let work = '';
  let platform: Platform | undefined;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'duet-routing-'));
    const dir = join(work, 'tiny-llama');
    await createModel({ arch: 'llama', preset: 'tiny', seed: 5, outDir: dir });
    platform = await launchPlatform({
      port: await freePort(), host: '127.0.0.1', modelDir: dir, prefill: 2, decode: 2, transport: 'nats', backend: 'wasm',
      kvCacheMib: 32, logDir: join(work, 'logs'), readyTimeoutMs: 120_000, policy: 'prefix-load',
    });
  });
  after(async () => {
    await platform?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test('a repeated prefix is prefilled where it is cached', async () => {
    const usages: Usage[] = [];
    for (const q of ['what is a kernel?', 'how are graphs lowered?', 'who checks rewrites?', 'why batch by prefix?']) {
      const res = await fetch(`${platform!.gatewayUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'tiny-llama', messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: q }], max_tokens: 2, temperature: 0 }),
      });
      assert.equal(res.status, 200, await res.clone().text());
      usages.push(((await res.json()) as { usage: Usage }).usage);
      await new Promise((r) => setTimeout(r, 300)); // the KV events of this prefill reach the router
    }
    const shared = Math.min(...usages.map((u) => u.prompt_tokens)) - 16; // the system prompt and template head
    assert.equal(usages[0].prompt_tokens_details.cached_tokens, 0, 'cold cache');
    for (const [i, u] of usages.entries()) {
      if (i === 0) continue;
      assert.ok(u.prompt_tokens_details.cached_tokens >= shared - 32, `request ${i}: ${u.prompt_tokens_details.cached_tokens} of ~${shared} shared tokens cached`);
    }
    const hits = await Promise.all(['prefill-0', 'prefill-1'].map((w) => metric(platform!, w, 'duet_prefill_prefix_hit_tokens_total')));
    assert.equal(hits.filter((h) => h > 0).length, 1, `one prefill worker served every hit: ${hits.join(', ')}`);
  });
});
