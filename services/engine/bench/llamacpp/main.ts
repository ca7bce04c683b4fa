/**
 * llama.cpp's figures alone, for the same seeded model `bench:engine` uses:
 *
 *   node --import tsx services/engine/bench/llamacpp/main.ts [--preset bench] [--threads N] [--quick]
 *
 * Creates `<repo>/.cache/models/<preset>-llama-s0` (createModel, seed 0) if missing, converts it to
 * `<that folder>.gguf`, and prints one JSON line:
 *   {"model","threads","llamacpp_prefill_tps_512","llamacpp_decode_tps_b1","llamacpp_decode_tps_b8"}
 * Prompts are built exactly as bench/engine-bench.ts and bench/measure.ts build Duet's.
 */
import { parseArgs } from 'node:util';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureModel } from '../../src/model/create.ts';
import { MODEL_PRESETS, type PresetName } from '../../src/model/presets.ts';
import { ensureGguf } from './convert.ts';
import { measureLlamaCpp } from './runner.ts';

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../..');

/** measure.ts's prefill prompt for rep `r`. */
export function prefillPrompt(vocabSize: number, n: number, r = 0): number[] {
  return Array.from({ length: n }, (_, i) => 300 + ((r * 31 + i * 7919) % (vocabSize - 300)));
}

/** engine-bench.ts's 32-token decode prompt number `i`. */
export function decodePrompt(vocabSize: number, i: number): number[] {
  return Array.from({ length: 32 }, (_, j) => 300 + ((i * 7919 + j * 104729) % (vocabSize - 300)));
}

async function seededModel(preset: PresetName): Promise<string> {
  return ensureModel({ arch: 'llama', preset, seed: 0, outDir: join(REPO_ROOT, '.cache', 'models', `${preset}-llama-s0`) });
}

async function main(): Promise<void> {
  const { values: flags } = parseArgs({
    options: {
      preset: { type: 'string', default: 'bench' },
      threads: { type: 'string', default: String(availableParallelism()) },
      quick: { type: 'boolean', default: false },
    },
  });
  const preset = flags.preset as PresetName;
  if (!(preset in MODEL_PRESETS.llama)) throw new Error(`--preset must be one of ${Object.keys(MODEL_PRESETS.llama).join(', ')}`);
  const V = MODEL_PRESETS.llama[preset].vocabSize;
  const dir = await seededModel(preset);
  const gguf = await ensureGguf(dir, `${dir}.gguf`);
  const m = await measureLlamaCpp(gguf, {
    threads: Number(flags.threads),
    prompt512: prefillPrompt(V, 512),
    decodePrompts: Array.from({ length: 8 }, (_, i) => decodePrompt(V, i)),
    reps: flags.quick ? 1 : 3,
  });
  const round = (x: number): number => Math.round(x * 100) / 100;
  console.log(JSON.stringify({
    model: `${preset} llama (${gguf})`,
    threads: m.threads,
    llamacpp_prefill_tps_512: round(m.llamacpp_prefill_tps_512),
    llamacpp_decode_tps_b1: round(m.llamacpp_decode_tps_b1),
    llamacpp_decode_tps_b8: round(m.llamacpp_decode_tps_b8),
  }));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
