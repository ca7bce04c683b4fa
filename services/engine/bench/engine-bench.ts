/**
 * `npm run bench:engine` — engine throughput on the `bench` presets, printed as one JSON object on
 * the last line of stdout:
 *
 *   {"model","backend","threads","weight_bytes","memory_read_GBps","roofline_decode_tps_b1",
 *    "prefill_tps_512","decode_tps_b1","decode_tps_b8","decode_tps_b32",
 *    "moe_decode_tps_b8_same_domain","moe_decode_tps_b8_mixed_domain","peak_rss_MB"}
 *
 * weight_bytes: bytes of weights read to decode one token (every matrix except the embedding
 * table, of which one row is read). memory_read_GBps: a native multi-threaded read loop, measured
 * in this run (bench/membw). roofline_decode_tps_b1 = memory_read_GBps·1e9 / weight_bytes.
 * Flags: --preset tiny|small|bench (default bench), --backend, --threads N|auto (the engine option;
 * default auto: both cores here for the bench models), --matmul auto|wasm-simd|backend (the engine
 * option; the JSON says which ran), --quick (fewer repetitions),
 * --vs-llamacpp (adds llama.cpp's figures on the same weights, measured alternately with ours, the
 * ratios, and whether greedy tokens agree; see vs-llamacpp.ts) with llama.cpp on as many threads as
 * ours unless --llamacpp-threads N says otherwise, --profile (instead of the figures:
 * kernel time by op — TensorFlow.js kernels and the wasm-simd GEMM's calls (`WasmGemm`) — for one
 * decode step at b=1 and b=8 and one 512-token prefill chunk; see
 * profile.ts).
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { ensureModel, GENERATOR_VERSION, loadModel, type LoadedModel } from '../src/model/index.ts';
import type { BackendName } from '../src/tfjs/backend.ts';
import { MATMUL_KINDS, resolveMatmul, type MatmulKind } from '../src/tfjs/device-weights.ts';
import { measureMemoryReadGBps } from './membw/index.ts';
import { measureDecode, measureDecodeSets, measurePrefill, moeDomainPrompts, prefillPrompt, readBytesPerToken, type BenchOptions } from './measure.ts';
import { sideBySide } from './vs-llamacpp.ts';
import { formatPhase, profileEngine } from './profile.ts';

const { values: flags } = parseArgs({
  options: {
    preset: { type: 'string', default: 'bench' },
    backend: { type: 'string', default: 'wasm' },
    quick: { type: 'boolean', default: false },
    'vs-llamacpp': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    threads: { type: 'string', default: 'auto' },
    matmul: { type: 'string', default: 'auto' },
    'llamacpp-threads': { type: 'string' },
  },
});

async function benchModel(arch: 'llama' | 'moe', preset: 'tiny' | 'small' | 'bench'): Promise<LoadedModel> {
  const dir = join(process.env.DUET_CACHE_DIR ?? join(homedir(), '.cache', 'duet'), 'models', `${preset}-${arch}-s0-g${GENERATOR_VERSION}`);
  return loadModel(await ensureModel({ arch, preset, seed: 0, outDir: dir }));
}

const log = (msg: string): void => console.error(`[bench:engine] ${msg}`);

async function main(): Promise<void> {
  const preset = flags.preset as 'tiny' | 'small' | 'bench';
  const backend = flags.backend as BackendName;
  const reps = flags.quick ? 1 : 3;
  const threads: number | 'auto' = flags.threads === 'auto' ? 'auto' : Number(flags.threads);
  if (threads !== 'auto' && !(Number.isInteger(threads) && threads > 0)) throw new RangeError(`--threads must be a positive integer or auto, got ${flags.threads}`);
  const matmul = matmulFlag(flags.matmul);
  if (flags.profile) return profile(preset, { backend, threads, matmul });
  const bw = await measureMemoryReadGBps(flags.quick ? { bufferMiB: 256, passes: 4 } : {});
  log(`memory read ${bw.best_GBps.toFixed(1)} GB/s best, ${bw.median_GBps.toFixed(1)} median (${bw.threads} threads)`);
  const dense = await benchModel('llama', preset);
  const weightBytes = readBytesPerToken(dense);
  const opts: BenchOptions = { backend, threads, matmul };
  const prefill = await measurePrefill(dense, opts, 512, reps);
  log(`prefill 512: ${prefill.tps.toFixed(1)} tok/s`);
  const decode: Record<number, number> = {};
  for (const b of [1, 8, 32]) {
    const prompts = Array.from({ length: b }, (_, i) => promptFor(dense, i));
    decode[b] = (await measureDecode(dense, opts, prompts, reps)).tps;
    log(`decode b=${b}: ${decode[b].toFixed(1)} tok/s`);
  }
  const moe = await benchModel('moe', preset);
  // Same vs mixed differ by ~15–20 %, about the size of a shared machine's swings: more alternations.
  const [same, mixed] = await measureDecodeSets(moe, opts, [moeDomainPrompts(moe, 8, 'same'), moeDomainPrompts(moe, 8, 'mixed')], flags.quick ? 1 : 7);
  log(`moe b=8 same-domain ${same.toFixed(1)}, mixed ${mixed.toFixed(1)} tok/s (alternated)`);
  const result = {
    model: `${preset} (llama ${dense.config.numLayers}L×${dense.config.hiddenSize}; moe ${moe.config.moe?.numExperts}×top${moe.config.moe?.topK})`,
    backend,
    matmul: resolveMatmul(matmul, backend),
    threads: prefill.threads,
    weight_bytes: weightBytes,
    memory_read_GBps: round(bw.best_GBps),
    roofline_decode_tps_b1: round((bw.best_GBps * 1e9) / weightBytes),
    prefill_tps_512: round(prefill.tps),
    decode_tps_b1: round(decode[1]),
    decode_tps_b8: round(decode[8]),
    decode_tps_b32: round(decode[32]),
    moe_decode_tps_b8_same_domain: round(same),
    moe_decode_tps_b8_mixed_domain: round(mixed),
    peak_rss_MB: Math.round(process.resourceUsage().maxRSS / 1024),
  };
  if (!flags['vs-llamacpp']) {
    console.log(JSON.stringify(result));
    return;
  }
  const decodePrompts = Array.from({ length: 8 }, (_, i) => promptFor(dense, i));
  const llamaThreads = flags['llamacpp-threads'] === undefined ? prefill.threads : Number(flags['llamacpp-threads']);
  if (!(Number.isInteger(llamaThreads) && llamaThreads > 0)) throw new RangeError(`--llamacpp-threads must be a positive integer, got ${flags['llamacpp-threads']}`);
  const vs = await sideBySide(dense, opts, llamaThreads, { prompt512: prefillPrompt(dense, 512, 0), decode: decodePrompts }, reps, log);
  console.log(JSON.stringify({
    ...result,
    prefill_tps_512: round(vs.prefill_tps_512),
    decode_tps_b1: round(vs.decode_tps_b1),
    decode_tps_b8: round(vs.decode_tps_b8),
    llamacpp_prefill_tps_512: round(vs.llamacpp_prefill_tps_512),
    llamacpp_decode_tps_b1: round(vs.llamacpp_decode_tps_b1),
    llamacpp_decode_tps_b8: round(vs.llamacpp_decode_tps_b8),
    llamacpp_threads: vs.llamacpp_threads,
    decode_b1_vs_llamacpp: round(vs.decode_tps_b1 / vs.llamacpp_decode_tps_b1),
    decode_b8_vs_llamacpp: round(vs.decode_tps_b8 / vs.llamacpp_decode_tps_b8),
    prefill_512_vs_llamacpp: round(vs.prefill_tps_512 / vs.llamacpp_prefill_tps_512),
    moe_same_vs_mixed: round(same / mixed),
    decode_b1_vs_roofline: round(vs.decode_tps_b1 / result.roofline_decode_tps_b1),
    greedy_tokens_equal_llamacpp: vs.greedy_tokens_equal,
  }));
}

/** --profile: kernel time by op for decode b1/b8 and one 512-token prefill chunk (see profile.ts). */
async function profile(preset: 'tiny' | 'small' | 'bench', options: BenchOptions): Promise<void> {
  const dense = await benchModel('llama', preset);
  const { threads, phases } = await profileEngine(dense, options, Array.from({ length: 8 }, (_, i) => promptFor(dense, i)));
  for (const p of phases) log(`profile ${formatPhase(p)}`);
  console.log(JSON.stringify({ model: `${preset} llama`, backend: options.backend, matmul: resolveMatmul(options.matmul ?? 'auto', options.backend ?? 'wasm'), threads, profile: phases }));
}

function promptFor(model: LoadedModel, i: number): number[] {
  const V = model.config.vocabSize;
  return Array.from({ length: 32 }, (_, j) => 300 + ((i * 7919 + j * 104729) % (V - 300)));
}

const round = (x: number): number => Math.round(x * 100) / 100;

function matmulFlag(v: string | undefined): MatmulKind | 'auto' {
  if (v === 'auto' || (MATMUL_KINDS as readonly string[]).includes(v ?? '')) return v as MatmulKind | 'auto';
  throw new RangeError(`--matmul must be auto, ${MATMUL_KINDS.join(' or ')}, got ${v}`);
}

await main();
