/**
 * `npm run bench:sim-validate` — does the simulator predict the real platform? On one launched
 * platform (`npm start`'s launcher: nats-server, router, 1 prefill + 1 decode worker, gateway, each
 * its own process, demo model), after a warm-up:
 *
 *   1. calibration   12 requests just before and 12 just after the validation run, one at a time,
 *                    fresh prompts of 64 and 320 tokens, 32 tokens out: the machine's speed inside
 *                    the platform over that window, and the request path's fixed delay
 *                    (calibrate.ts: speed and prefill factors, routeMs);
 *   2. validation    a different workload (default: shared-prefix 4 × 8 at Poisson 0.5 req/s, so
 *                    prefix hits, overlapping requests and batching), run for real, then simulated
 *                    at the same send times with the calibrated cost model.
 *
 * The gateway has no ignore_eos, so a real answer may stop early: each simulated request gets the
 * output length its real twin produced. Mean TTFT and mean TPOT must agree within 25 %.
 * Prints one JSON object as the last stdout line:
 *
 *   {"workload","arrival","requests","cost_model","calibration":{…},"real":{…},"sim":{…},
 *    "ttft_rel_err","tpot_rel_err","within_25pct"}
 *
 * Flags: --cost-model FILE (default: the committed model), or --bench: run `bench:engine --preset
 * small --quick` just before and just after the platform runs and fit the engine terms from both
 * (the machine's speed right now; the KV link keeps the cost model's figure); --workload NAME
 * (shared-prefix, mooncake with --trace …) with --groups/--questions/--max-tokens/--tokens-per-block,
 * --rate R or --speed S, --requests N; --policy NAME; --out DIR (both reports, the cost model used).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { ensureDemoModel, launchPlatform } from '@duet/cli';
import { MODEL_PRESETS } from '@duet/engine';
import { freePort } from '@duet/testkit';
import {
  DEFAULT_COST_MODEL_PATH, Rng, SIM_ENGINE_DEFAULTS, WORKLOAD_NAMES, buildWorkload, calibratePlatform, describeArrival, engineConfig, fitCostModel,
  fromWorkload, hashReuseBound, loadCostModel, randomTokens, readBenchRecords, runLoadTest, scheduleArrivals, simulate, tokenRangeForVocab, warmUp,
  warmupRequests, writeRun,
  type ArrivalSpec, type CostModel, type EngineBench, type KvTransferBench, type LoadTestResult, type RequestTiming, type Source, type Workload, type WorkloadName,
} from '../src/index.ts';

const { values: f } = parseArgs({
  options: {
    'cost-model': { type: 'string' }, bench: { type: 'boolean', default: false }, workload: { type: 'string', default: 'shared-prefix' }, trace: { type: 'string' },
    rate: { type: 'string', default: '0.5' }, speed: { type: 'string' }, requests: { type: 'string' }, groups: { type: 'string' }, questions: { type: 'string' },
    'max-tokens': { type: 'string' }, 'tokens-per-block': { type: 'string' }, policy: { type: 'string' }, out: { type: 'string' },
  },
});

const exec = promisify(execFile);
const log = (msg: string): void => console.error(`[sim-validate] ${msg}`);
const num = (s: string | undefined): number | undefined => (s === undefined ? undefined : Number(s));
const round = (x: number | null): number | null => (x === null ? null : Math.round(x * 1000) / 1000);
const pick = (r: LoadTestResult) => ({
  requests: r.requests, failed: r.failed, wall_s: round(r.wall_s), ttft_mean_ms: round(r.ttft_mean_ms), ttft_p90_ms: round(r.ttft_p90_ms),
  tpot_mean_ms: round(r.tpot_mean_ms), e2e_p50_ms: round(r.e2e_p50_ms), prefix_hit_rate: round(r.prefix_hit_rate), output_tokens: r.output_tokens,
});
const PREFILL = 1;
const DECODE = 1;

/** One `bench:engine --preset small --quick` run in a child process; its JSON record. */
async function benchEngine(): Promise<EngineBench> {
  const script = fileURLToPath(new URL('../../services/engine/bench/engine-bench.ts', import.meta.url));
  log('bench:engine --preset small --quick …');
  const { stdout } = await exec(process.execPath, ['--import', 'tsx', script, '--preset', 'small', '--quick'], { maxBuffer: 1 << 24 });
  const rec = readBenchRecords(stdout).engine.at(-1);
  if (!rec) throw new Error(`bench:engine printed no result:\n${stdout}`);
  return rec;
}

/** Engine terms fitted from bench runs around the platform runs; the KV link and platform from `base`. */
function refit(base: CostModel, runs: EngineBench[]): CostModel {
  const p = MODEL_PRESETS.llama.small;
  const m = fitCostModel({
    engine: runs, kvTransfer: (base.fit?.kv_transfer as KvTransferBench | undefined) ?? null, bandwidthMBps: base.transfer.bandwidthMBps, transport: base.transfer.transport,
    shape: { name: 'small llama preset', layers: p.numLayers, hiddenSize: p.hiddenSize, numHeads: p.numHeads, kvHeads: p.numKvHeads, intermediateSize: p.intermediateSize, vocabSize: p.vocabSize, maxContextTokens: p.maxPositionEmbeddings },
    command: 'npm run bench:sim-validate -- --bench (bench:engine --preset small --quick before and after the platform runs)',
  });
  return { ...m, transfer: base.transfer };
}

/** Fixed send times, so the real run and the simulation send the same requests at the same moments. */
function source(w: Workload, arrival: ArrivalSpec, limit: number | undefined, blockSize: number): { fixed: Workload; src: Source } {
  const scheduled = scheduleArrivals(w, arrival, limit);
  const requests = fromWorkload(scheduled, blockSize);
  return {
    fixed: { ...w, requests: scheduled, timed: arrival.kind !== 'closed' },
    src: { requests, workload: { name: w.name, description: w.description, params: w.params }, arrival, bound: hashReuseBound(requests, blockSize) },
  };
}

/** 12 fresh prompts, 64 and 320 tokens alternately, 32 tokens out (sent one at a time). */
function calibrationWorkload(vocabSize: number, tag: string, stream: number): Workload {
  const rng = new Rng(0xca1, stream);
  const range = tokenRangeForVocab(vocabSize);
  const requests = Array.from({ length: 12 }, (_, i) => ({ id: `calibrate-${tag}-${i}`, arrivalMs: 0, promptIds: randomTokens(rng, i % 2 ? 320 : 64, range), maxTokens: 32 }));
  return { name: 'calibration', description: '12 fresh prompts of 64 and 320 tokens, 32 tokens out, one at a time', requests, timed: false, params: {} };
}

async function main(): Promise<void> {
  const costPath = f['cost-model'] ? resolve(f['cost-model']) : DEFAULT_COST_MODEL_PATH;
  let cost = await loadCostModel(costPath);
  const engine = engineConfig(cost, { kvCacheMib: SIM_ENGINE_DEFAULTS.kvCacheMib });
  const shape = { vocabSize: cost.model.vocabSize, maxContextTokens: cost.model.maxContextTokens };
  const name = f.workload as WorkloadName;
  if (!WORKLOAD_NAMES.includes(name)) throw new Error(`--workload must be one of ${WORKLOAD_NAMES.join(', ')}`);
  const arrival: ArrivalSpec = f.speed ? { kind: 'trace', speed: Number(f.speed) } : { kind: 'poisson', ratePerS: Number(f.rate), seed: 0 };
  const workload = await buildWorkload(
    { name, trace: f.trace ? resolve(f.trace) : undefined, groups: num(f.groups), questionsPerGroup: num(f.questions), maxTokens: num(f['max-tokens']), tokensPerBlock: num(f['tokens-per-block']), requests: num(f.requests) },
    shape,
  );
  const test = source(workload, arrival, num(f.requests), engine.blockSize);
  // Calibration just before and just after the validation run (different fresh prompts), pooled:
  // the machine's speed over the window the validation ran in.
  const calibBefore = source(calibrationWorkload(cost.model.vocabSize, 'before', 1), { kind: 'closed', concurrency: 1 }, undefined, engine.blockSize);
  const calibAfter = source(calibrationWorkload(cost.model.vocabSize, 'after', 2), { kind: 'closed', concurrency: 1 }, undefined, engine.blockSize);
  const out = f.out ? resolve(f.out) : await mkdtemp(join(tmpdir(), 'duet-sim-validate-'));
  const benchRuns = f.bench ? [await benchEngine()] : [];

  // 1 + 2, real: one platform, warm-up, calibration, then the validation workload.
  const modelDir = await ensureDemoModel();
  const model = basename(modelDir);
  log(`launching ${PREFILL} prefill + ${DECODE} decode workers on ${model}`);
  const platform = await launchPlatform({
    port: await freePort(), host: '127.0.0.1', modelDir, prefill: PREFILL, decode: DECODE, transport: cost.transfer.transport, backend: 'wasm',
    kvCacheMib: SIM_ENGINE_DEFAULTS.kvCacheMib, ...(f.policy ? { policy: f.policy } : {}), logDir: join(out, 'logs'), readyTimeoutMs: 180_000,
  });
  const calibrationTimings: RequestTiming[] = [];
  let real;
  try {
    await warmUp({ url: platform.gatewayUrl, model, requests: warmupRequests(4, 64, 4, tokenRangeForVocab(cost.model.vocabSize)) });
    const calibrate = async (when: string, w: ReturnType<typeof source>): Promise<void> => {
      log(`calibration (${when}): ${w.src.requests.length} requests, one at a time`);
      const run = await runLoadTest({ url: platform.gatewayUrl, model, workload: w.fixed, arrival: { kind: 'closed', concurrency: 1 }, progress: null });
      await writeRun(join(out, `calibration-${when}`), run.result, run.timings);
      calibrationTimings.push(...run.timings);
    };
    await calibrate('before', calibBefore);
    log(`validation: ${test.src.requests.length} requests, ${workload.description}, ${describeArrival(arrival)}`);
    real = await runLoadTest({ url: platform.gatewayUrl, model, workload: test.fixed, arrival: { kind: 'trace', speed: 1 }, progress: process.stderr });
    await calibrate('after', calibAfter);
  } finally {
    await platform.stop();
  }
  await writeRun(join(out, 'real'), real.result, real.timings);
  if (f.bench) {
    benchRuns.push(await benchEngine());
    cost = refit(cost, benchRuns);
  }
  const calibSource: Source = { ...calibBefore.src, requests: [...calibBefore.src.requests, ...calibAfter.src.requests] };
  const cal = await calibratePlatform(cost, calibSource, calibrationTimings, { engine, prefill: PREFILL, decode: DECODE, policy: f.policy });
  cost = cal.cost;
  await writeFile(join(out, 'cost-model.json'), JSON.stringify(cost, null, 2) + '\n');

  // 2, simulated: the same requests at the same send times, each with its real twin's output length.
  const produced = new Map(real.timings.map((t) => [t.id, t.outputTokens]));
  const requests = test.src.requests.map((r) => ({ ...r, maxTokens: Math.max(1, produced.get(r.id) || r.maxTokens) }));
  const sim = await simulate({ source: { ...test.src, requests, arrival: { kind: 'trace', speed: 1 } }, cost, engine, prefill: PREFILL, decode: DECODE, policy: f.policy, seed: 0, costModelSource: 'cost-model.json' });
  await writeRun(join(out, 'sim'), sim.result, sim.timings);

  const rel = (s: number | null, r: number | null): number | null => (s === null || r === null || r === 0 ? null : round((s - r) / r));
  const ttftErr = rel(sim.result.ttft_mean_ms, real.result.ttft_mean_ms);
  const tpotErr = rel(sim.result.tpot_mean_ms, real.result.tpot_mean_ms);
  const ok = ttftErr !== null && tpotErr !== null && Math.abs(ttftErr) <= 0.25 && Math.abs(tpotErr) <= 0.25 && real.result.failed === 0;
  log(`reports: ${join(out, 'real', 'report.md')} and ${join(out, 'sim', 'report.md')}; cost model: ${join(out, 'cost-model.json')}`);
  console.log(JSON.stringify({
    workload: workload.description, arrival: describeArrival(arrival), requests: test.src.requests.length,
    cost_model: f.bench ? 'engine terms fitted from bench:engine around the run' : basename(costPath),
    calibration: { speed_factor: round(cal.speedFactor), prefill_factor: round(cal.prefillFactor), route_ms: cost.platform.routeMs, real: cal.real, uncalibrated: cal.before, step: cost.step },
    real: pick(real.result), sim: pick(sim.result), ttft_rel_err: ttftErr, tpot_rel_err: tpotErr, within_25pct: ok,
  }));
}

await main();
