/**
 * `duet loadtest`: drive an OpenAI-compatible server with a workload (trace replay or synthetic)
 * and write results.json, report.md and SVG charts. `duet loadtest compare`: the same workload on
 * freshly launched local platforms, one per placement mode and/or routing policy, side by side.
 * Flag parsing and the launcher live here; everything else is @duet/loadtest.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { BACKEND_NAMES } from '@duet/engine';
import {
  DEFAULT_SLO, PLACEMENT_MODES, WORKLOAD_NAMES, buildVariants, buildWorkload, listModels, parseDomainMix, runCompare,
  runLoadTest, tokenRangeForVocab, warmUp, warmupRequests, writeRun,
  type ArrivalSpec, type LaunchedTarget, type LoadTestResult, type ModelShape, type Variant, type Workload, type WorkloadRequest, type WorkloadSpec,
} from '@duet/loadtest';
import { freePort } from '@duet/testkit';
import { CliUsageError, oneOf, optionalNumber, parseFlags, requireString } from '../args.ts';
import { ensureDemoModel } from './demo.ts';
import { launchPlatform } from '../launcher/platform.ts';

type Values = Record<string, string | boolean | undefined>;
const str = { type: 'string' } as const;

const RUN_FLAGS = {
  model: str, 'model-dir': str, 'vocab-size': str, 'max-context': str, 'api-key': str,
  workload: str, trace: str, seed: str, 'tokens-per-block': str, 'length-scale': str, groups: str, questions: str, 'system-tokens': str,
  'question-tokens': str, sessions: str, turns: str, 'think-ms': str, 'prompt-tokens': str, 'max-tokens': str, mix: str, requests: str,
  rate: str, speed: str, burst: str, 'burst-interval-ms': str, concurrency: str, 'duration-s': str,
  'slo-ttft-ms': str, 'slo-tpot-ms': str, 'timeout-s': str, temperature: str, 'block-size': str, warmup: str, out: str, json: { type: 'boolean' },
} as const;

const int = (v: Values, name: string): number | undefined => optionalNumber(v, name, { integer: true });

function workloadSpec(v: Values): WorkloadSpec {
  const name = oneOf(v, 'workload', WORKLOAD_NAMES);
  return {
    name, seed: int(v, 'seed'), trace: typeof v.trace === 'string' ? resolve(v.trace) : undefined,
    tokensPerBlock: int(v, 'tokens-per-block'), lengthScale: optionalNumber(v, 'length-scale'), groups: int(v, 'groups'),
    questionsPerGroup: int(v, 'questions'), systemTokens: int(v, 'system-tokens'), questionTokens: int(v, 'question-tokens'),
    sessions: int(v, 'sessions'), turns: int(v, 'turns'), thinkMs: optionalNumber(v, 'think-ms'), requests: int(v, 'requests'),
    promptTokens: int(v, 'prompt-tokens'), maxTokens: int(v, 'max-tokens'), mix: typeof v.mix === 'string' ? parseDomainMix(v.mix) : undefined,
  };
}

/**
 * Exactly one of --rate, --speed, --burst, --concurrency (checked before any I/O); without one:
 * trace timestamps at speed 1 for a trace workload, else a closed loop of concurrency 4.
 */
function arrivalSpec(v: Values): (timed: boolean) => ArrivalSpec {
  const given = ['rate', 'speed', 'burst', 'concurrency'].filter((k) => v[k] !== undefined);
  if (given.length > 1) throw new CliUsageError(`give one arrival process, not ${given.map((k) => `--${k}`).join(' and ')}`);
  let spec: ArrivalSpec | null = null;
  if (v.rate !== undefined) spec = { kind: 'poisson', ratePerS: optionalNumber(v, 'rate')!, seed: int(v, 'seed') };
  if (v.speed !== undefined) spec = { kind: 'trace', speed: optionalNumber(v, 'speed')! };
  if (v.burst !== undefined) spec = { kind: 'burst', size: int(v, 'burst')!, intervalMs: optionalNumber(v, 'burst-interval-ms') ?? 1000 };
  if (v.concurrency !== undefined) spec = { kind: 'closed', concurrency: int(v, 'concurrency')! };
  return (timed) => spec ?? (timed ? { kind: 'trace', speed: 1 } : { kind: 'closed', concurrency: 4 });
}

async function modelDirShape(dir: string): Promise<Partial<ModelShape>> {
  const path = join(dir, 'config.json');
  let cfg: { vocab_size?: unknown; max_position_embeddings?: unknown };
  try {
    cfg = JSON.parse(await readFile(path, 'utf8')) as typeof cfg;
  } catch (err) {
    throw new CliUsageError(`--model-dir: cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const n = (x: unknown): number | undefined => (typeof x === 'number' ? x : undefined);
  return { vocabSize: n(cfg.vocab_size), maxContextTokens: n(cfg.max_position_embeddings) };
}

/** Flags win, then the model folder, then the server's max_model_len; vocab defaults to 1024 (every generated model). */
async function modelShape(v: Values, dir: string | undefined, served: number | null): Promise<ModelShape> {
  const fromDir = dir ? await modelDirShape(dir) : {};
  return {
    vocabSize: int(v, 'vocab-size') ?? fromDir.vocabSize ?? 1024,
    maxContextTokens: int(v, 'max-context') ?? fromDir.maxContextTokens ?? served ?? 2048,
  };
}

function commonRun(v: Values): { slo: { ttftMs: number; tpotMs: number }; timeoutMs: number; temperature?: number; blockSize?: number; limit?: number; durationMs?: number; apiKey?: string } {
  const dur = optionalNumber(v, 'duration-s');
  return {
    slo: { ttftMs: optionalNumber(v, 'slo-ttft-ms') ?? DEFAULT_SLO.ttftMs, tpotMs: optionalNumber(v, 'slo-tpot-ms') ?? DEFAULT_SLO.tpotMs },
    timeoutMs: (optionalNumber(v, 'timeout-s') ?? 300) * 1000,
    temperature: optionalNumber(v, 'temperature'),
    blockSize: int(v, 'block-size'),
    limit: int(v, 'requests'),
    durationMs: dur === undefined ? undefined : dur * 1000,
    apiKey: typeof v['api-key'] === 'string' ? v['api-key'] : undefined,
  };
}

/** `count` warm-up requests of 4 output tokens, as long as the workload's median prompt. */
function warmupFor(count: number, workload: Workload, shape: ModelShape): WorkloadRequest[] {
  const lengths = workload.requests.map((r) => r.promptIds.length).sort((a, b) => a - b);
  const prompt = Math.min(lengths[lengths.length >> 1] ?? 64, shape.maxContextTokens - 4);
  return warmupRequests(count, prompt, 4, tokenRangeForVocab(shape.vocabSize));
}

function summaryLine(r: LoadTestResult): string {
  const ms = (x: number | null): string => (x === null ? '–' : `${Math.round(x)} ms`);
  const pct = (x: number | null): string => (x === null ? '–' : `${(100 * x).toFixed(1)} %`);
  return [
    `${r.requests} requests (${r.failed} failed) in ${r.wall_s.toFixed(1)} s`,
    `TTFT mean ${ms(r.ttft_mean_ms)}, p90 ${ms(r.ttft_p90_ms)}; TPOT mean ${ms(r.tpot_mean_ms)}; E2E p50 ${ms(r.e2e_p50_ms)}`,
    `${r.request_throughput_rps.toFixed(2)} req/s, ${r.output_token_throughput_tps.toFixed(1)} output tok/s, goodput ${r.goodput_rps.toFixed(2)} req/s`,
    `prefix hit rate ${pct(r.prefix_hit_rate)} (upper bound ${pct(r.prefix_hit_rate_upper_bound)})`,
    ...(r.failed ? [`errors: ${Object.entries(r.errors).map(([k, n]) => `${k} ${n}`).join(', ')}`] : []),
  ].join('\n');
}

/** Ctrl-C stops sending and cancels what is in flight; the results are still written. */
function interrupt(): { signal: AbortSignal; dispose(): void } {
  const ctrl = new AbortController();
  const on = (): void => ctrl.abort();
  process.once('SIGINT', on);
  return { signal: ctrl.signal, dispose: () => process.off('SIGINT', on) };
}

async function single(argv: string[]): Promise<number> {
  const v = parseFlags(argv, { url: str, ...RUN_FLAGS });
  const url = requireString(v, 'url');
  const spec = workloadSpec(v);
  const arrival = arrivalSpec(v);
  const common = commonRun(v);
  const models = await listModels(url, typeof v['api-key'] === 'string' ? v['api-key'] : undefined);
  const model = typeof v.model === 'string' ? v.model : models[0]?.id;
  if (!model) throw new Error(`${url} serves no model (GET /v1/models is empty); name one with --model`);
  const served = models.find((m) => m.id === model)?.maxModelLen ?? null;
  const dir = typeof v['model-dir'] === 'string' ? resolve(v['model-dir']) : undefined;
  const shape = await modelShape(v, dir, served);
  const workload = await buildWorkload(spec, shape);
  await warmUp({ url, model, apiKey: common.apiKey, requests: warmupFor(int(v, 'warmup') ?? 0, workload, shape), timeoutMs: common.timeoutMs });
  const stop = interrupt();
  try {
    const run = await runLoadTest({ url, model, workload, arrival: arrival(workload.timed), ...common, progress: process.stderr, signal: stop.signal });
    if (typeof v.out === 'string') await writeRun(resolve(v.out), run.result, run.timings);
    console.log(summaryLine(run.result) + (typeof v.out === 'string' ? `\nreport: ${join(resolve(v.out), 'report.md')}` : ''));
    if (v.json) console.log(JSON.stringify({ ...run.result, timeline: undefined }));
    return 0;
  } finally {
    stop.dispose();
  }
}

const COMPARE_FLAGS = {
  ...RUN_FLAGS, modes: str, policies: str, prefill: str, decode: str, transport: str, backend: str, 'kv-cache-mib': str, 'ready-timeout-s': str,
} as const;

async function compare(argv: string[]): Promise<number> {
  const v = parseFlags(argv, COMPARE_FLAGS);
  const out = resolve(requireString(v, 'out'));
  const list = (k: string): string[] => (typeof v[k] === 'string' ? v[k].split(',').map((s) => s.trim()).filter(Boolean) : []);
  const spec = workloadSpec(v);
  const arrivalOf = arrivalSpec(v);
  const common = commonRun(v);
  const modes = list('modes').map((m) => oneOf({ modes: m }, 'modes', PLACEMENT_MODES));
  const policies = list('policies').map((p) => (existsSync(p) ? resolve(p) : p));
  const variants = buildVariants({ modes, policies, prefill: int(v, 'prefill') ?? 1, decode: int(v, 'decode') ?? 1 });
  const modelDir = typeof v['model-dir'] === 'string' ? resolve(v['model-dir']) : await ensureDemoModel();
  const model = basename(modelDir);
  const shape = await modelShape(v, modelDir, null);
  const workload = await buildWorkload(spec, shape);
  const arrival = arrivalOf(workload.timed);
  const warm = warmupFor(int(v, 'warmup') ?? 4, workload, shape);
  const launch = async (variant: Variant, logDir: string): Promise<LaunchedTarget> => {
    const p = await launchPlatform({
      modelDir, port: await freePort(), host: '127.0.0.1', prefill: variant.prefill, decode: variant.decode,
      transport: oneOf(v, 'transport', ['nats', 'tcp'] as const, 'nats'), backend: oneOf(v, 'backend', BACKEND_NAMES, 'wasm'),
      kvCacheMib: optionalNumber(v, 'kv-cache-mib') ?? 128, ...(variant.policyFile ? { policy: variant.policyFile } : {}),
      logDir, readyTimeoutMs: (optionalNumber(v, 'ready-timeout-s') ?? 180) * 1000,
    });
    return { url: p.gatewayUrl, model, stop: () => p.stop() };
  };
  const stop = interrupt();
  try {
    const { entries } = await runCompare({
      variants, outDir: out, launch, log: (line) => console.error(line), signal: stop.signal,
      warmup: (t) => warmUp({ url: t.url, model: t.model, requests: warm, timeoutMs: common.timeoutMs }),
      run: (t) => runLoadTest({ url: t.url, model: t.model, workload, arrival, ...common, progress: process.stderr, signal: stop.signal }),
      title: `Load test comparison: ${variants.map((x) => x.name).join(' vs ')}`,
    });
    for (const e of entries) console.log(`== ${e.name}\n${summaryLine(e.result)}`);
    console.log(`report: ${join(out, 'report.md')}`);
    if (v.json) console.log(JSON.stringify({ variants: entries.map((e) => ({ name: e.name, ...e.result, timeline: undefined })) }));
    return 0;
  } finally {
    stop.dispose();
  }
}

export async function loadtest(argv: string[]): Promise<number> {
  return argv[0] === 'compare' ? compare(argv.slice(1)) : single(argv);
}
