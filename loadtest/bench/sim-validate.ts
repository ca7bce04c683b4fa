/**
 * `npm run bench:sim-validate` — does the simulator predict the real platform? One small workload
 * is run twice:
 *
 *   real        the local platform (`npm start`'s launcher: nats-server, router, 1 prefill + 1
 *               decode worker, gateway, each its own process) on the demo model, driven by the
 *               load tester after a warm-up;
 *   simulated   `duet simulate` of the same requests at the same send times on 1 + 1 simulated
 *               workers with a cost model fitted from bench:engine / bench:kv-transfer output.
 *
 * The gateway has no ignore_eos, so a real answer may stop early: each simulated request gets the
 * output length its real twin produced. Mean TTFT and mean TPOT must agree within 25 %.
 * Prints one JSON object as the last stdout line:
 *
 *   {"workload","arrival","requests","cost_model","real":{…},"sim":{…},"ttft_rel_err","tpot_rel_err","within_25pct"}
 *
 * Flags: --cost-model FILE (default: the committed model), or --bench: run `bench:engine --preset
 * small --quick` just before and just after the real run and fit the cost model from both (the
 * machine's speed right now; the KV link keeps the committed model's kv-transfer figure);
 * --workload NAME and its load-test flags (default: shared-prefix, 4 × 8, Poisson --rate 0.5),
 * --requests N, --prefill 1 --decode 1, --policy NAME, --out DIR (both reports).
 */
import { execFile } from 'node:child_process';
import { basename, join, resolve } from 'node:path';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MODEL_PRESETS } from '@duet/engine';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { ensureDemoModel, launchPlatform } from '@duet/cli';
import { freePort } from '@duet/testkit';
import {
  DEFAULT_COST_MODEL_PATH, SIM_ENGINE_DEFAULTS, WORKLOAD_NAMES, buildWorkload, describeArrival, engineConfig, fromWorkload, hashReuseBound, loadCostModel,
  fitCostModel, readBenchRecords, runLoadTest, scheduleArrivals, simulate, tokenRangeForVocab, warmUp, warmupRequests, writeRun,
  type ArrivalSpec, type CostModel, type EngineBench, type KvTransferBench, type LoadTestResult, type Source, type Workload, type WorkloadName,
} from '../src/index.ts';

const { values: f } = parseArgs({
  options: {
    'cost-model': { type: 'string' }, workload: { type: 'string', default: 'shared-prefix' }, trace: { type: 'string' },
    rate: { type: 'string', default: '0.5' }, requests: { type: 'string' }, groups: { type: 'string' }, questions: { type: 'string' },
    'max-tokens': { type: 'string' }, 'tokens-per-block': { type: 'string' }, speed: { type: 'string' },
    bench: { type: 'boolean', default: false }, prefill: { type: 'string', default: '1' }, decode: { type: 'string', default: '1' }, policy: { type: 'string' }, out: { type: 'string' },
  },
});

const run = promisify(execFile);
const log = (msg: string): void => console.error(`[sim-validate] ${msg}`);
const num = (s: string | undefined): number | undefined => (s === undefined ? undefined : Number(s));
const pick = (r: LoadTestResult) => ({
  requests: r.requests, failed: r.failed, wall_s: round(r.wall_s), ttft_mean_ms: round(r.ttft_mean_ms), ttft_p90_ms: round(r.ttft_p90_ms),
  tpot_mean_ms: round(r.tpot_mean_ms), e2e_p50_ms: round(r.e2e_p50_ms), prefix_hit_rate: round(r.prefix_hit_rate), output_tokens: r.output_tokens,
});

/** One `bench:engine --preset small --quick` run in a child process; its JSON record. */
async function benchEngine(): Promise<EngineBench> {
  const script = fileURLToPath(new URL('../../services/engine/bench/engine-bench.ts', import.meta.url));
  log('bench:engine --preset small --quick …');
  const { stdout } = await run(process.execPath, ['--import', 'tsx', script, '--preset', 'small', '--quick'], { maxBuffer: 1 << 24 });
  const rec = readBenchRecords(stdout).engine.at(-1);
  if (!rec) throw new Error(`bench:engine printed no result:\n${stdout}`);
  return rec;
}

/** A cost model fitted from bench runs around the real run, with the committed model's KV link. */
function refit(base: CostModel, runs: EngineBench[]): CostModel {
  const p = MODEL_PRESETS.llama.small;
  return fitCostModel({
    engine: runs, kvTransfer: (base.fit?.kv_transfer as KvTransferBench | undefined) ?? null, bandwidthMBps: base.transfer.bandwidthMBps, transport: base.transfer.transport,
    shape: { name: 'small llama preset', layers: p.numLayers, hiddenSize: p.hiddenSize, numHeads: p.numHeads, kvHeads: p.numKvHeads, intermediateSize: p.intermediateSize, vocabSize: p.vocabSize, maxContextTokens: p.maxPositionEmbeddings },
    command: 'npm run bench:sim-validate -- --bench (bench:engine --preset small --quick before and after the real run)',
  });
}

async function main(): Promise<void> {
  const costPath = f['cost-model'] ? resolve(f['cost-model']) : DEFAULT_COST_MODEL_PATH;
  let cost = await loadCostModel(costPath);
  const benchRuns = f.bench ? [await benchEngine()] : [];
  const engine = engineConfig(cost, { kvCacheMib: SIM_ENGINE_DEFAULTS.kvCacheMib });
  const name = f.workload as WorkloadName;
  if (!WORKLOAD_NAMES.includes(name)) throw new Error(`--workload must be one of ${WORKLOAD_NAMES.join(', ')}`);
  const arrival: ArrivalSpec = f.speed ? { kind: 'trace', speed: Number(f.speed) } : { kind: 'poisson', ratePerS: Number(f.rate), seed: 0 };
  const workload = await buildWorkload(
    { name, trace: f.trace ? resolve(f.trace) : undefined, groups: num(f.groups), questionsPerGroup: num(f.questions), maxTokens: num(f['max-tokens']), tokensPerBlock: num(f['tokens-per-block']), requests: num(f.requests) },
    { vocabSize: cost.model.vocabSize, maxContextTokens: cost.model.maxContextTokens },
  );
  // Send times fixed once: the real run replays them (speed 1), the simulation gets the same.
  const scheduled = scheduleArrivals(workload, arrival, num(f.requests));
  const fixed: Workload = { ...workload, requests: scheduled, timed: true };
  const out = f.out ? resolve(f.out) : await mkdtemp(join(tmpdir(), 'duet-sim-validate-'));
  const prefill = Number(f.prefill);
  const decode = Number(f.decode);

  // 1. The real platform.
  const modelDir = await ensureDemoModel();
  const model = basename(modelDir);
  log(`launching ${prefill} prefill + ${decode} decode workers on ${model}`);
  const platform = await launchPlatform({
    port: await freePort(), host: '127.0.0.1', modelDir, prefill, decode, transport: cost.transfer.transport, backend: 'wasm',
    kvCacheMib: SIM_ENGINE_DEFAULTS.kvCacheMib, ...(f.policy ? { policy: f.policy } : {}), logDir: join(out, 'logs'), readyTimeoutMs: 180_000,
  });
  let real;
  try {
    await warmUp({ url: platform.gatewayUrl, model, requests: warmupRequests(4, 64, 4, tokenRangeForVocab(cost.model.vocabSize)) });
    log(`real run: ${scheduled.length} requests, ${workload.description}, ${describeArrival(arrival)}`);
    real = await runLoadTest({ url: platform.gatewayUrl, model, workload: fixed, arrival: { kind: 'trace', speed: 1 }, progress: process.stderr });
  } finally {
    await platform.stop();
  }
  await writeRun(join(out, 'real'), real.result, real.timings);
  if (f.bench) {
    benchRuns.push(await benchEngine());
    cost = refit(cost, benchRuns);
    await writeFile(join(out, 'cost-model.json'), JSON.stringify(cost, null, 2) + '\n');
  }

  // 2. The same requests, simulated, each with the output length its real twin produced.
  const produced = new Map(real.timings.map((t) => [t.id, t.outputTokens]));
  const requests = fromWorkload(scheduled, engine.blockSize).map((r) => ({ ...r, maxTokens: Math.max(1, produced.get(r.id) || r.maxTokens) }));
  const source: Source = { requests, workload: { name: workload.name, description: workload.description, params: workload.params }, arrival: { kind: 'trace', speed: 1 }, bound: hashReuseBound(requests, engine.blockSize) };
  const sim = await simulate({ source, cost, engine, prefill, decode, policy: f.policy, seed: 0, costModelSource: basename(costPath) });
  await writeRun(join(out, 'sim'), sim.result, sim.timings);

  const rel = (s: number | null, r: number | null): number | null => (s === null || r === null || r === 0 ? null : round((s - r) / r));
  const ttftErr = rel(sim.result.ttft_mean_ms, real.result.ttft_mean_ms);
  const tpotErr = rel(sim.result.tpot_mean_ms, real.result.tpot_mean_ms);
  const ok = ttftErr !== null && tpotErr !== null && Math.abs(ttftErr) <= 0.25 && Math.abs(tpotErr) <= 0.25 && real.result.failed === 0;
  log(`reports: ${join(out, 'real', 'report.md')} and ${join(out, 'sim', 'report.md')}`);
  console.log(JSON.stringify({
    workload: workload.description, arrival: describeArrival(arrival), requests: scheduled.length, cost_model: f.bench ? 'fitted from bench:engine around the run' : basename(costPath),
    cost_step: cost.step, real: pick(real.result), sim: pick(sim.result), ttft_rel_err: ttftErr, tpot_rel_err: tpotErr, within_25pct: ok,
  }));
}

const round = (x: number | null): number | null => (x === null ? null : Math.round(x * 1000) / 1000);

await main();
