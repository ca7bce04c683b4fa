/**
 * The whole platform as `npm start` runs it — nats-server, router, workers and gateway as separate
 * processes — driven through the official `openai` client. Each placement (aggregated on one
 * `both` worker; disaggregated over the NATS and the TCP KV transport) must give exactly the tokens
 * `Engine.generate` gives in one process for the same prompt and parameters, greedy and seeded,
 * streaming and not, for a dense and a MoE model.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { createModel, Engine, loadModel, loadTokenizer, type SamplingParams } from '@duet/engine';
import { freePort } from '@duet/testkit';
import { launchPlatform, type Platform } from '../src/launcher/platform.ts';

const PLACEMENTS = [
  { name: 'aggregated', prefill: 0, transport: 'nats' as const },
  { name: 'disaggregated over NATS', prefill: 1, transport: 'nats' as const },
  { name: 'disaggregated over TCP', prefill: 1, transport: 'tcp' as const },
];
const CASES: Array<[string, Partial<SamplingParams> & { maxTokens: number }]> = [
  ['greedy', { temperature: 0, maxTokens: 8 }],
  ['seeded', { temperature: 0.9, topP: 0.95, seed: 42, maxTokens: 8 }],
];

/** The /metrics text of a worker, found through the port its 'worker ready' log line reports. */
async function workerMetrics(p: Platform, name: string): Promise<string> {
  const child = p.children.find((c) => c.spec.name === name)!;
  const ready = (await readFile(child.logFile, 'utf8')).split('\n').find((l) => l.includes('"worker ready"'));
  const port = (JSON.parse(ready!) as { metricsPort: number }).metricsPort;
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

function metricValue(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

for (const arch of ['llama', 'moe'] as const) {
  describe(`platform (${arch})`, () => {
    let dir = '';
    let work = '';
    const expected = new Map<string, { text: string; ids: number[] }>();
    const prompt = 'the kernel compiles the tensor and the theorem';

    before(async () => {
      work = await mkdtemp(join(tmpdir(), `duet-platform-${arch}-`));
      dir = join(work, `tiny-${arch}`);
      await createModel({ arch, preset: 'tiny', seed: 9, outDir: dir });
      const [model, tok] = await Promise.all([loadModel(dir), loadTokenizer(dir)]);
      const engine = await Engine.create(model, {});
      const promptIds = tok.encode(tok.applyChatTemplate([{ role: 'user', content: prompt }], { addGenerationPrompt: true }), { addSpecialTokens: false });
      for (const [name, sampling] of CASES) {
        const out = engine.generate({ id: name, promptIds, sampling });
        const ids = out.newTokens.map((t) => t.id);
        expected.set(name, { ids, text: tok.decode(ids, { skipSpecialTokens: true }) });
      }
      engine.dispose();
    });
    after(() => rm(work, { recursive: true, force: true }));

    for (const p of PLACEMENTS) {
      describe(p.name, () => {
        let platform: Platform;
        let client: OpenAI;
        before(async () => {
          platform = await launchPlatform({
            port: await freePort(), host: '127.0.0.1', modelDir: dir, prefill: p.prefill, decode: 1, transport: p.transport,
            backend: 'wasm', kvCacheMib: 32, logDir: join(work, 'logs', p.name.replace(/\W+/g, '-')), readyTimeoutMs: 120_000,
          });
          client = new OpenAI({ baseURL: `${platform.gatewayUrl}/v1`, apiKey: 'unused' });
        });
        after(() => platform?.stop());

        if (p.prefill > 0) {
          test('the KV moved worker to worker: transfer bytes counted, no fallback to local prefill', async () => {
            await client.chat.completions.create({ model: `tiny-${arch}`, messages: [{ role: 'user', content: prompt }], max_tokens: 2, temperature: 0 });
            const m = await workerMetrics(platform, 'decode-0');
            assert.ok(metricValue(m, 'duet_decode_transfer_bytes_total') > 0, 'bytes were transferred');
            assert.equal(metricValue(m, 'duet_decode_transfer_fallbacks_total'), 0);
          });
        }

        for (const [name, sampling] of CASES) {
          const params = {
            model: `tiny-${arch}`,
            messages: [{ role: 'user' as const, content: prompt }],
            max_tokens: sampling.maxTokens,
            temperature: sampling.temperature,
            ...(sampling.topP !== undefined ? { top_p: sampling.topP } : {}),
            ...(sampling.seed !== undefined ? { seed: sampling.seed } : {}),
          };
          test(`${name}, not streaming: the text of one-process generation`, async () => {
            const r = await client.chat.completions.create(params);
            assert.equal(r.choices[0].message.content, expected.get(name)!.text);
            assert.equal(r.usage?.completion_tokens, expected.get(name)!.ids.length);
          });
          test(`${name}, streaming: the same text, chunk by chunk`, async () => {
            const stream = await client.chat.completions.create({ ...params, stream: true });
            let text = '';
            for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
            assert.equal(text, expected.get(name)!.text);
          });
        }
      });
    }
  });
}
