/**
 * `bench:engine -- --vs-llamacpp`: the same `bench` model folder converted to GGUF (f32) and run by
 * llama.cpp (node-llama-cpp, installed on demand into .cache/llamacpp) with an f32 KV cache and the
 * same thread count as our backend, measured alternately with ours so machine noise hits both.
 * Also checks that llama.cpp's greedy tokens equal ours on the same weights.
 */
import type { LoadedModel } from '../src/model/types.ts';
import { Engine } from '../src/engine.ts';
import { ensureGguf, ensureLlamaCpp, llamaCppGreedy, measureLlamaCpp } from './llamacpp/index.ts';
import { measureDecode, measurePrefill, type BenchOptions } from './measure.ts';

export interface SideBySide {
  prefill_tps_512: number;
  decode_tps_b1: number;
  decode_tps_b8: number;
  llamacpp_prefill_tps_512: number;
  llamacpp_decode_tps_b1: number;
  llamacpp_decode_tps_b8: number;
  llamacpp_threads: number;
  greedy_tokens_equal: boolean;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function greedyEqual(model: LoadedModel, options: BenchOptions, gguf: string, threads: number): Promise<boolean> {
  const prompt = Array.from({ length: 24 }, (_, i) => 300 + ((i * 7919) % 7000));
  const engine = await Engine.create(model, { ...options, numKvBlocks: 8 });
  const ours = engine.generate({ id: 'g', promptIds: prompt, sampling: { temperature: 0, maxTokens: 16 }, ignoreEos: true }).newTokens.map((t) => t.id);
  engine.dispose();
  const theirs = await llamaCppGreedy(gguf, prompt, 16, { threads });
  return ours.length === theirs.length && ours.every((t, i) => t === theirs[i]);
}

/** Alternates one repetition of ours with one of llama.cpp's, `reps` times; medians of each. */
export async function sideBySide(
  model: LoadedModel,
  options: BenchOptions,
  threads: number,
  prompts: { prompt512: number[]; decode: number[][] },
  reps: number,
  log: (msg: string) => void,
): Promise<SideBySide> {
  await ensureLlamaCpp({ log });
  const gguf = await ensureGguf(model.dir, `${model.dir}.gguf`);
  const ours = { prefill: [] as number[], b1: [] as number[], b8: [] as number[] };
  const theirs = { prefill: [] as number[], b1: [] as number[], b8: [] as number[] };
  for (let r = 0; r < reps; r++) {
    ours.prefill.push((await measurePrefill(model, options, 512, 1)).tps);
    ours.b1.push((await measureDecode(model, options, prompts.decode.slice(0, 1), 1)).tps);
    ours.b8.push((await measureDecode(model, options, prompts.decode.slice(0, 8), 1)).tps);
    const l = await measureLlamaCpp(gguf, { threads, prompt512: prompts.prompt512, decodePrompts: prompts.decode.slice(0, 8), reps: 1 });
    theirs.prefill.push(l.llamacpp_prefill_tps_512);
    theirs.b1.push(l.llamacpp_decode_tps_b1);
    theirs.b8.push(l.llamacpp_decode_tps_b8);
    log(`rep ${r}: ours ${ours.prefill.at(-1)!.toFixed(0)}/${ours.b1.at(-1)!.toFixed(1)}/${ours.b8.at(-1)!.toFixed(1)}, llama.cpp ${l.llamacpp_prefill_tps_512.toFixed(0)}/${l.llamacpp_decode_tps_b1.toFixed(1)}/${l.llamacpp_decode_tps_b8.toFixed(1)} (prefill/b1/b8 tok/s)`);
  }
  return {
    prefill_tps_512: median(ours.prefill),
    decode_tps_b1: median(ours.b1),
    decode_tps_b8: median(ours.b8),
    llamacpp_prefill_tps_512: median(theirs.prefill),
    llamacpp_decode_tps_b1: median(theirs.b1),
    llamacpp_decode_tps_b8: median(theirs.b8),
    llamacpp_threads: threads,
    greedy_tokens_equal: await greedyEqual(model, options, gguf, threads),
  };
}
