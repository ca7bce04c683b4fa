/**
 * `duet simulate`: a discrete-event simulation of a cluster of N prefill + M decode workers running
 * the real router plugins (and, with --scaling-policy, the real planner) against a fitted engine
 * cost model; writes the same results.json / report as `duet loadtest`.
 * `duet simulate fit`: fits a cost model from `bench:engine` / `bench:kv-transfer` output.
 * Flag parsing lives here; everything else is @duet/loadtest (loadtest/src/sim/).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { MODEL_PRESETS, type PresetName } from '@duet/engine';
import {
  DEFAULT_COST_MODEL_PATH, DEFAULT_SLO, SIM_ENGINE_DEFAULTS, WORKLOAD_NAMES, buildSource, engineConfig, fitCostModel, loadCostModel, parseDomainMix,
  readBenchRecords, resolveTrace, shapeFromConfig, simulate, writeSimulation,
  type ArrivalSpec, type FitShape, type SimulationResult, type SourceSpec, type WorkloadSpec,
} from '@duet/loadtest';
import { projectToRatio } from '@duet/operator/planner';
import { CliUsageError, oneOf, optionalNumber, parseFlags } from '../args.ts';
import { loadScalingPolicy } from './scaling-policy.ts';

type Values = Record<string, string | boolean | undefined>;
const str = { type: 'string' } as const;

const FLAGS = {
  trace: str, workload: str, native: { type: 'boolean' }, prefill: str, decode: str, policy: str, 'scaling-policy': str, seed: str, 'cost-model': str,
  rate: str, speed: str, burst: str, 'burst-interval-ms': str, concurrency: str, requests: str,
  'tokens-per-block': str, 'length-scale': str, groups: str, questions: str, 'system-tokens': str, 'question-tokens': str, sessions: str, turns: str,
  'think-ms': str, 'prompt-tokens': str, 'max-tokens': str, mix: str,
  'kv-cache-mib': str, 'num-kv-blocks': str, 'block-size': str, 'max-batch-tokens': str, 'max-running-seqs': str, 'worker-startup-s': str,
  'slo-ttft-ms': str, 'slo-tpot-ms': str, json: { type: 'boolean' }, out: str,
} as const;

const int = (v: Values, name: string): number | undefined => optionalNumber(v, name, { integer: true });

function count(v: Values, name: string, min: number, fallback?: number): number {
  const n = int(v, name) ?? fallback;
  if (n === undefined) throw new CliUsageError(`--${name} is required`);
  if (n < min) throw new CliUsageError(`--${name} must be ≥ ${min}, got ${n}`);
  return n;
}

/** Exactly one of --rate, --speed, --burst, --concurrency, or none (the workload's default). */
function arrival(v: Values): ArrivalSpec | undefined {
  const given = ['rate', 'speed', 'burst', 'concurrency'].filter((k) => v[k] !== undefined);
  if (given.length > 1) throw new CliUsageError(`give one arrival process, not ${given.map((k) => `--${k}`).join(' and ')}`);
  if (v.rate !== undefined) return { kind: 'poisson', ratePerS: optionalNumber(v, 'rate')!, seed: int(v, 'seed') };
  if (v.speed !== undefined) return { kind: 'trace', speed: optionalNumber(v, 'speed')! };
  if (v.burst !== undefined) return { kind: 'burst', size: int(v, 'burst')!, intervalMs: optionalNumber(v, 'burst-interval-ms') ?? 1000 };
  if (v.concurrency !== undefined) return { kind: 'closed', concurrency: int(v, 'concurrency')! };
  return undefined;
}

function workloadSpec(v: Values, name: WorkloadSpec['name'], trace: string | undefined): WorkloadSpec {
  return {
    name, seed: int(v, 'seed'), trace,
    tokensPerBlock: int(v, 'tokens-per-block'), lengthScale: optionalNumber(v, 'length-scale'), groups: int(v, 'groups'),
    questionsPerGroup: int(v, 'questions'), systemTokens: int(v, 'system-tokens'), questionTokens: int(v, 'question-tokens'),
    sessions: int(v, 'sessions'), turns: int(v, 'turns'), thinkMs: optionalNumber(v, 'think-ms'), requests: int(v, 'requests'),
    promptTokens: int(v, 'prompt-tokens'), maxTokens: int(v, 'max-tokens'), mix: typeof v.mix === 'string' ? parseDomainMix(v.mix) : undefined,
  };
}

/** --trace alone: that trace at workload scale (or --native); --workload NAME: a load-test workload. */
function sourceSpec(v: Values, blockSize: number, shape: { vocabSize: number; maxContextTokens: number }): SourceSpec {
  const trace = typeof v.trace === 'string' ? resolveTrace(v.trace) : undefined;
  const common = { arrival: arrival(v), limit: int(v, 'requests'), blockSize, shape };
  if (v.native) {
    if (!trace) throw new CliUsageError('--native replays a trace at its own token counts: give --trace');
    return { ...common, native: trace };
  }
  const name = v.workload === undefined && trace ? trace.kind : oneOf(v, 'workload', WORKLOAD_NAMES);
  return { ...common, workload: workloadSpec(v, name, trace?.path) };
}

function summaryLine(r: SimulationResult): string {
  const ms = (x: number | null): string => (x === null ? '–' : `${Math.round(x)} ms`);
  const pct = (x: number | null): string => (x === null ? '–' : `${(100 * x).toFixed(1)} %`);
  const s = r.simulation;
  return [
    `simulated ${r.requests} requests (${r.failed} failed) on ${s.prefill_workers} prefill + ${s.decode_workers} decode workers, policy ${s.policy}: ${r.wall_s.toFixed(1)} s simulated in ${r.sim_runtime_s.toFixed(2)} s`,
    `TTFT mean ${ms(r.ttft_mean_ms)}, p90 ${ms(r.ttft_p90_ms)}; TPOT mean ${ms(r.tpot_mean_ms)}; E2E p50 ${ms(r.e2e_p50_ms)}`,
    `${r.request_throughput_rps.toFixed(2)} req/s, ${r.output_token_throughput_tps.toFixed(1)} output tok/s, goodput ${r.goodput_rps.toFixed(2)} req/s (SLO attainment ${pct(r.slo_attainment)})`,
    `prefix hit rate ${pct(r.prefix_hit_rate)} (upper bound ${pct(r.prefix_hit_rate_upper_bound)})`,
  ].join('\n');
}

async function run(argv: string[]): Promise<number> {
  const v = parseFlags(argv, FLAGS);
  if (v.trace === undefined && v.workload === undefined) throw new CliUsageError('give --trace FILE|NAME or --workload NAME');
  const costPath = typeof v['cost-model'] === 'string' ? resolve(v['cost-model']) : DEFAULT_COST_MODEL_PATH;
  const cost = await loadCostModel(costPath);
  const engine = engineConfig(cost, {
    blockSize: int(v, 'block-size') ?? (v.native && typeof v.trace === 'string' && resolveTrace(v.trace).kind === 'mooncake' ? 512 : undefined),
    kvCacheMib: optionalNumber(v, 'kv-cache-mib'), numKvBlocks: int(v, 'num-kv-blocks'),
    maxBatchTokens: int(v, 'max-batch-tokens'), maxRunningSeqs: int(v, 'max-running-seqs'),
  });
  const source = await buildSource(sourceSpec(v, engine.blockSize, { vocabSize: cost.model.vocabSize, maxContextTokens: cost.model.maxContextTokens }));
  const scaling = typeof v['scaling-policy'] === 'string' ? await loadScalingPolicy(resolve(v['scaling-policy'])) : null;
  let pools = { prefill: count(v, 'prefill', 0, scaling ? 1 : undefined), decode: count(v, 'decode', 1, scaling ? 1 : undefined) };
  if (scaling) {
    const clamp = (n: number, p: { minReplicas: number; maxReplicas: number }): number => Math.min(p.maxReplicas, Math.max(p.minReplicas, n));
    pools = projectToRatio(scaling, { prefill: clamp(pools.prefill, scaling.prefill), decode: clamp(pools.decode, scaling.decode) });
  }
  const { result, timings } = await simulate({
    source, cost, engine, ...pools, policy: typeof v.policy === 'string' ? v.policy : undefined, seed: int(v, 'seed') ?? 0, scaling,
    workerStartupMs: (optionalNumber(v, 'worker-startup-s') ?? SIM_ENGINE_DEFAULTS.workerStartupS) * 1000,
    slo: { ttftMs: optionalNumber(v, 'slo-ttft-ms') ?? DEFAULT_SLO.ttftMs, tpotMs: optionalNumber(v, 'slo-tpot-ms') ?? DEFAULT_SLO.tpotMs },
    costModelSource: basename(costPath),
  });
  if (typeof v.out === 'string') await writeSimulation(resolve(v.out), result, timings);
  const where = typeof v.out === 'string' ? `\nreport: ${join(resolve(v.out), 'report.md')}` : '';
  if (v.json) {
    console.error(summaryLine(result) + where);
    console.log(JSON.stringify({ ...result, timeline: undefined }));
  } else {
    console.log(summaryLine(result) + where);
  }
  return 0;
}

const FIT_FLAGS = { engine: str, 'kv-transfer': str, 'bandwidth-mbps': str, preset: str, 'model-dir': str, transport: str, out: str } as const;

async function readText(file: string, flag: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new CliUsageError(`--${flag} ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The measured model's shape: --model-dir's config.json, --preset, or the preset bench:engine names. */
async function fitShape(v: Values, benchModel: string): Promise<FitShape> {
  if (typeof v['model-dir'] === 'string') {
    const dir = resolve(v['model-dir']);
    const cfg = JSON.parse(await readText(join(dir, 'config.json'), 'model-dir')) as Record<string, unknown>;
    return shapeFromConfig(cfg, basename(dir));
  }
  const preset = (typeof v.preset === 'string' ? v.preset : benchModel.split(' ')[0]) as PresetName;
  const p = MODEL_PRESETS.llama[preset];
  if (!p) throw new CliUsageError(`--preset must be one of ${Object.keys(MODEL_PRESETS.llama).join(', ')} (or give --model-dir), got "${preset}"`);
  return { name: `${preset} llama preset`, layers: p.numLayers, hiddenSize: p.hiddenSize, numHeads: p.numHeads, kvHeads: p.numKvHeads, intermediateSize: p.intermediateSize, vocabSize: p.vocabSize, maxContextTokens: p.maxPositionEmbeddings };
}

async function fit(argv: string[]): Promise<number> {
  const v = parseFlags(argv, FIT_FLAGS);
  if (typeof v.engine !== 'string') throw new CliUsageError('--engine FILE (captured `npm run bench:engine` output) is required');
  if (typeof v.out !== 'string') throw new CliUsageError('--out FILE is required');
  const engine = readBenchRecords(await readText(v.engine, 'engine')).engine;
  if (engine.length === 0) throw new CliUsageError(`--engine ${v.engine}: no bench:engine JSON line (with prefill_tps_512, decode_tps_b1/b8/b32) found`);
  const kv = typeof v['kv-transfer'] === 'string' ? readBenchRecords(await readText(v['kv-transfer'], 'kv-transfer')).kvTransfer.at(-1) : undefined;
  if (typeof v['kv-transfer'] === 'string' && !kv) throw new CliUsageError(`--kv-transfer ${v['kv-transfer']}: no bench:kv-transfer JSON line (with duet_nats_MBps, duet_tcp_MBps) found`);
  const transport = oneOf(v, 'transport', ['nats', 'tcp'] as const, 'nats');
  const model = fitCostModel({
    engine, kvTransfer: kv ?? null, bandwidthMBps: optionalNumber(v, 'bandwidth-mbps'), shape: await fitShape(v, engine[0].model), transport,
    command: `duet simulate fit ${argv.join(' ')}`,
  });
  await writeFile(resolve(v.out), JSON.stringify(model, null, 2) + '\n');
  const s = model.step;
  console.log(`cost model → ${resolve(v.out)}: step = ${s.baseMs} ms + ${s.prefillTokenMs} ms/prefill token + ${s.decodeSeqMs} ms/decode seq + ${s.attentionPairMs} ms/attention pair; KV link ${model.transfer.bandwidthMBps} MB/s (${transport})`);
  console.log(`relative residuals: ${JSON.stringify(model.fit?.relative_residuals)}`);
  return 0;
}

export async function simulateCommand(argv: string[]): Promise<number> {
  return argv[0] === 'fit' ? fit(argv.slice(1)) : run(argv);
}
