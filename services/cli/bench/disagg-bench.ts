/**
 * `npm run bench:disagg` — time to first token of disaggregated vs aggregated placement on an idle
 * platform, for 256-, 1,024- and 2,048-token prompts of the `bench` llama model. Three platforms
 * run side by side (aggregated: one `both` worker; disaggregated: one prefill + one decode worker
 * over the NATS and over the TCP KV transport), each with its own nats-server, and requests
 * alternate between them so machine noise hits all three alike. TTFT = from sending a streaming
 * /v1/completions request to receiving its first token. Prompts are distinct random ids, so no
 * prefix cache helps. Last stdout line:
 *   {"prompt_tokens":[...],"ttft_agg_ms":[...],"ttft_disagg_nats_ms":[...],"ttft_disagg_tcp_ms":[...]}
 * Flags: --preset tiny|small|bench (default bench), --reps N (default 5).
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { ensureModel, GENERATOR_VERSION, type PresetName } from '@duet/engine';
import { freePort } from '@duet/testkit';
import { cacheDir } from '../src/commands/demo.ts';
import { launchPlatform, runLogDir, type Platform } from '../src/launcher/platform.ts';

const { values: flags } = parseArgs({ options: { preset: { type: 'string', default: 'bench' }, reps: { type: 'string', default: '5' } } });
const PROMPTS = [256, 1024, 2048];
const MODES = [
  { key: 'ttft_agg_ms', prefill: 0, transport: 'nats' as const },
  { key: 'ttft_disagg_nats_ms', prefill: 1, transport: 'nats' as const },
  { key: 'ttft_disagg_tcp_ms', prefill: 1, transport: 'tcp' as const },
];
const log = (m: string): void => console.error(`[bench:disagg] ${m}`);

async function benchModel(preset: PresetName): Promise<string> {
  return ensureModel({ arch: 'llama', preset, seed: 0, outDir: join(cacheDir(), 'models', `${preset}-llama-s0-g${GENERATOR_VERSION}`) });
}

let salt = 0;
function randomPrompt(n: number, vocab: number): number[] {
  salt++;
  return Array.from({ length: n }, (_, i) => 300 + ((salt * 7919 + i * 104729 + ((i * i * salt) % 9973)) % (vocab - 310)));
}

/** ms from sending a streaming completion to its first SSE chunk carrying text. */
async function ttft(p: Platform, model: string, prompt: number[]): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${p.gatewayUrl}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, prompt, max_tokens: 2, temperature: 0, stream: true }),
  });
  if (!res.ok || !res.body) throw new Error(`completion failed: ${res.status} ${await res.text()}`);
  const reader = res.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  let first = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!first && new TextDecoder().decode(value).includes('"choices"')) first = performance.now() - t0;
  }
  if (!first) throw new Error('no token arrived');
  return first;
}

const median = (xs: number[]): number => Math.round([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] * 10) / 10;

async function main(): Promise<void> {
  const modelDir = await benchModel(flags.preset as PresetName);
  const model = modelDir.split('/').at(-1)!;
  const vocab = flags.preset === 'tiny' ? 1024 : flags.preset === 'small' ? 8000 : 32000;
  const platforms: Platform[] = [];
  try {
    for (const m of MODES) {
      const port = await freePort();
      log(`starting ${m.key} platform on port ${port}`);
      platforms.push(await launchPlatform({
        port, host: '127.0.0.1', modelDir, prefill: m.prefill, decode: 1, transport: m.transport, backend: 'wasm',
        kvCacheMib: 256, logDir: join(runLogDir(cacheDir()), m.key), readyTimeoutMs: 300_000,
      }));
    }
    for (const p of platforms) await ttft(p, model, randomPrompt(64, vocab)); // warm-up
    const results: Record<string, number[]> = Object.fromEntries(MODES.map((m) => [m.key, []]));
    for (const n of PROMPTS) {
      const samples: number[][] = MODES.map(() => []);
      for (let r = 0; r < Number(flags.reps); r++) {
        for (const [i, p] of platforms.entries()) samples[i].push(await ttft(p, model, randomPrompt(n, vocab)));
      }
      MODES.forEach((m, i) => results[m.key].push(median(samples[i])));
      log(`${n} tokens: ${MODES.map((m, i) => `${m.key}=${median(samples[i])}`).join(' ')}`);
    }
    console.log(JSON.stringify({ prompt_tokens: PROMPTS, ...results }));
  } finally {
    await Promise.all(platforms.map((p) => p.stop()));
  }
}

await main();
