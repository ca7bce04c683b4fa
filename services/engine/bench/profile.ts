/**
 * `npm run bench:engine -- --profile`: where one engine step's time goes, by kernel: TensorFlow.js
 * kernels, and on the wasm-simd matmul path (the default) each GEMM call as a `WasmGemm` row, timed
 * around the call (its copy in and out included).
 *
 * Three phases on the dense bench model, each a real `engine.step()`:
 *   decode_b1    one sequence decoding (32-token prompt already prefilled)
 *   decode_b8    eight sequences decoding together
 *   prefill_512  one 512-token prompt as a single chunk (prefix caching off)
 *
 * For each phase: `wall_ms`, the median wall time of unprofiled steps; `kernel_ms`, the summed
 * kernel time of profiled steps (`tf.profile`: the wasm backend times each kernel call around its
 * synchronous execution); `outside_kernels_ms = wall_ms − kernel_ms`, i.e. what is not a kernel —
 * tensor bookkeeping, host copies (KV store reads/writes, uploads), the scheduler and the sampler.
 * Ops are grouped by kernel name, with the largest kernel+shape groups listed separately.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Engine } from '../src/engine.ts';
import { WasmGemm } from '../src/tfjs/gemm/index.ts';
import type { EngineOptionsInput } from '../src/engine-options.ts';
import type { LoadedModel } from '../src/model/types.ts';
import { prefillPrompt } from './measure.ts';

export interface OpRow {
  op: string;
  /** Kernel calls per step. */
  calls: number;
  /** Kernel milliseconds per step. */
  ms: number;
}

export interface PhaseProfile {
  phase: string;
  wall_ms: number;
  kernel_ms: number;
  outside_kernels_ms: number;
  kernels_per_step: number;
  by_op: OpRow[];
  /** The biggest kernel+shape groups (e.g. `MatMul 1x512·512x1536`). */
  top_shapes: OpRow[];
}

type KernelInfo = Awaited<ReturnType<typeof tf.profile>>['kernels'][number];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

function group(kernels: KernelInfo[], key: (k: KernelInfo) => string, steps: number): OpRow[] {
  const rows = new Map<string, OpRow>();
  for (const k of kernels) {
    const name = key(k);
    const row = rows.get(name) ?? { op: name, calls: 0, ms: 0 };
    row.calls += 1;
    row.ms += k.kernelTimeMs as number;
    rows.set(name, row);
  }
  return [...rows.values()]
    .map((r) => ({ op: r.op, calls: r3(r.calls / steps), ms: r3(r.ms / steps) }))
    .sort((a, b) => b.ms - a.ms);
}

const shapeKey = (k: KernelInfo): string =>
  `${k.name} ${k.inputShapes.map((s) => (s ?? []).join('x')).join('·')}`;

/** Times `steps` unprofiled calls of `step`, then profiles `steps` more. */
async function profilePhase(phase: string, step: () => void, steps: number): Promise<PhaseProfile> {
  const walls: number[] = [];
  for (let s = 0; s < steps; s++) {
    const t0 = performance.now();
    step();
    walls.push(performance.now() - t0);
  }
  const checks = tf.env().getBool('CHECK_COMPUTATION_FOR_ERRORS');
  tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', false);
  const kernels: KernelInfo[] = [];
  // The wasm-simd GEMM is not a TensorFlow.js kernel: its calls are timed by WasmGemm and listed as `WasmGemm`.
  WasmGemm.profiler = (c) => kernels.push({ name: 'WasmGemm', inputShapes: [[c.M, c.K], [c.K, c.N]], kernelTimeMs: c.ms } as unknown as KernelInfo);
  try {
    for (let s = 0; s < steps; s++) {
      const info = await tf.profile(() => {
        step();
        return [];
      });
      kernels.push(...info.kernels);
    }
    const kernelMs = kernels.reduce((a, k) => a + (k.kernelTimeMs as number), 0) / steps;
    const wall = median(walls);
    return {
      phase,
      wall_ms: r3(wall),
      kernel_ms: r3(kernelMs),
      outside_kernels_ms: r3(wall - kernelMs),
      kernels_per_step: kernels.length / steps,
      by_op: group(kernels, (k) => k.name, steps),
      top_shapes: group(kernels, shapeKey, steps).slice(0, 12),
    };
  } finally {
    WasmGemm.profiler = null;
    tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', checks);
  }
}

/** An engine with `prompts.length` sequences all decoding; `step()` then runs one decode of each. */
async function decodingEngine(model: LoadedModel, options: EngineOptionsInput, prompts: number[][], steps: number): Promise<Engine> {
  const b = prompts.length;
  const perSeq = Math.max(...prompts.map((p) => p.length)) + 4 * steps + 8;
  const engine = await Engine.create(model, { ...options, maxRunningSeqs: b, maxBatchTokens: Math.max(512, b), numKvBlocks: b * Math.ceil(perSeq / 16) + 4 });
  prompts.forEach((p, i) => engine.addRequest({ id: `d${i}`, promptIds: p, sampling: { temperature: 0, maxTokens: 4 * steps + 4 }, ignoreEos: true }));
  const started = new Set<string>();
  while (started.size < b) for (const o of engine.step().outputs) started.add(o.id);
  for (let s = 0; s < 2; s++) engine.step(); // warm-up
  return engine;
}

/**
 * Profiles decode b1, decode b8 and one 512-token prefill chunk. With threads > 1, kernels are those
 * of the main thread's shard only (the workers' run at the same time on the other cores); wall time
 * is the whole step.
 */
export async function profileEngine(model: LoadedModel, options: EngineOptionsInput, decodePrompts: number[][], steps = 8): Promise<{ threads: number; phases: PhaseProfile[] }> {
  const out: PhaseProfile[] = [];
  let threads = 1;
  for (const b of [1, 8]) {
    const engine = await decodingEngine(model, options, decodePrompts.slice(0, b), steps);
    threads = engine.backend.threads;
    try {
      out.push(await profilePhase(`decode_b${b}`, () => void engine.step(), steps));
    } finally {
      engine.dispose();
    }
  }
  const n = 512;
  const engine = await Engine.create(model, { ...options, enablePrefixCaching: false, maxBatchTokens: n, numKvBlocks: Math.ceil((n + 16) / 16) + 4 });
  try {
    let r = 0;
    const prefillOnce = (): void => {
      engine.generate({ id: `p${r}`, promptIds: prefillPrompt(model, n, r), sampling: { temperature: 0, maxTokens: 1 }, ignoreEos: true });
      r++;
    };
    prefillOnce(); // warm-up
    out.push(await profilePhase('prefill_512', prefillOnce, 3));
  } finally {
    engine.dispose();
  }
  return { threads, phases: out };
}

/** A readable table of one phase for stderr. */
export function formatPhase(p: PhaseProfile, topOps = 14): string {
  const lines = [
    `${p.phase}: wall ${p.wall_ms.toFixed(2)} ms/step, kernels ${p.kernel_ms.toFixed(2)} ms (${p.kernels_per_step} calls), outside kernels ${p.outside_kernels_ms.toFixed(2)} ms`,
    ...p.by_op.slice(0, topOps).map((r) => `  ${r.op.padEnd(22)} ${r.ms.toFixed(3).padStart(9)} ms ${String(r.calls).padStart(6)} calls ${((100 * r.ms) / p.wall_ms).toFixed(1).padStart(5)}%`),
    '  top kernel shapes:',
    ...p.top_shapes.slice(0, 6).map((r) => `    ${r.op.padEnd(40)} ${r.ms.toFixed(3).padStart(9)} ms ${String(r.calls).padStart(6)} calls`),
  ];
  return lines.join('\n');
}
