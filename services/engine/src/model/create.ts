/**
 * `createModel` writes a seeded model as a real Hugging Face folder:
 *   config.json · generation_config.json · model.safetensors (or shards + index) ·
 *   tokenizer.json · tokenizer_config.json
 * Same options → byte-identical files: seeded PRNG only, no timestamps, fixed key order.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Architecture } from './types.ts';
import type { Dtype } from './dtype.ts';
import { MODEL_PRESETS, type ModelPreset, type PresetName } from './presets.ts';
import { INDEX_FILE, SINGLE_FILE, writeCheckpoint } from './checkpoint.ts';
import { buildTokenizerConfig, buildTokenizerJson, specialTokenId } from './tokenizer-gen.ts';
import { generateWeights } from './weights-gen.ts';

/**
 * Version of the weight/tokenizer generator. Bump it whenever createModel's output changes for the
 * same arguments, so caches of generated models (the demo model, benchmark models) are rebuilt.
 * 2: the untied LM head carries the domain directions.
 * 3: residual-writing projections use GPT-2's scaled init (the bench MoE kept its domains).
 */
export const GENERATOR_VERSION = 3;

export interface CreateModelOptions {
  arch: Architecture;
  preset: PresetName;
  /** Unsigned 32-bit integer. */
  seed: number;
  outDir: string;
  /** On-disk dtype; default f32. */
  dtype?: 'f32' | 'f16' | 'bf16';
  /** Split the weights into shards of at most this many bytes (a larger tensor gets its own). */
  maxShardBytes?: number;
}

const DTYPES: Record<'f32' | 'f16' | 'bf16', { st: Dtype; torch: string }> = {
  f32: { st: 'F32', torch: 'float32' },
  f16: { st: 'F16', torch: 'float16' },
  bf16: { st: 'BF16', torch: 'bfloat16' },
};

const TRANSFORMERS_VERSION = '4.46.0';

function configJson(o: CreateModelOptions, p: ModelPreset): Record<string, unknown> {
  const moe = o.arch === 'moe' ? p.moe! : null;
  return {
    architectures: [moe ? 'MixtralForCausalLM' : 'LlamaForCausalLM'],
    model_type: moe ? 'mixtral' : 'llama',
    vocab_size: p.vocabSize,
    hidden_size: p.hiddenSize,
    // Mixtral's intermediate_size is the size of one expert.
    intermediate_size: moe ? moe.expertIntermediateSize : p.intermediateSize,
    num_hidden_layers: p.numLayers,
    num_attention_heads: p.numHeads,
    num_key_value_heads: p.numKvHeads,
    head_dim: p.hiddenSize / p.numHeads,
    hidden_act: 'silu',
    max_position_embeddings: p.maxPositionEmbeddings,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    rope_scaling: null,
    attention_bias: false,
    attention_dropout: 0,
    ...(moe
      ? { num_local_experts: moe.numExperts, num_experts_per_tok: moe.topK, router_aux_loss_coef: 0.02, output_router_logits: false, sliding_window: null }
      : { mlp_bias: false, pretraining_tp: 1 }),
    initializer_range: 0.02,
    tie_word_embeddings: p.tieWordEmbeddings,
    bos_token_id: specialTokenId(p.vocabSize, '<|begin_of_text|>'),
    eos_token_id: specialTokenId(p.vocabSize, '<|end_of_text|>'),
    torch_dtype: DTYPES[o.dtype ?? 'f32'].torch,
    use_cache: true,
    transformers_version: TRANSFORMERS_VERSION,
    duet_generated: { arch: o.arch, preset: o.preset, seed: o.seed },
  };
}

/** The chat model ends a turn with <|eot_id|>; generation stops on either end token. */
function generationConfigJson(p: ModelPreset): Record<string, unknown> {
  return {
    bos_token_id: specialTokenId(p.vocabSize, '<|begin_of_text|>'),
    eos_token_id: [specialTokenId(p.vocabSize, '<|end_of_text|>'), specialTokenId(p.vocabSize, '<|eot_id|>')],
    transformers_version: TRANSFORMERS_VERSION,
  };
}

function validate(o: CreateModelOptions): ModelPreset {
  const preset = MODEL_PRESETS[o.arch]?.[o.preset];
  if (!preset) throw new Error(`createModel: unknown arch/preset "${o.arch}/${o.preset}"`);
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) {
    throw new Error(`createModel: seed must be an unsigned 32-bit integer, got ${o.seed}`);
  }
  if (o.dtype !== undefined && !(o.dtype in DTYPES)) throw new Error(`createModel: unknown dtype "${o.dtype}"`);
  if (o.maxShardBytes !== undefined && !(o.maxShardBytes > 0)) {
    throw new Error(`createModel: maxShardBytes must be positive, got ${o.maxShardBytes}`);
  }
  return preset;
}

/** Remove weights a previous run left behind, so a stale index never shadows the new file. */
async function removeOldWeights(dir: string): Promise<void> {
  const stale = (f: string): boolean => f === SINGLE_FILE || f === INDEX_FILE || /^model-\d{5}-of-\d{5}\.safetensors$/.test(f);
  for (const f of (await readdir(dir)).filter(stale)) await rm(join(dir, f));
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, JSON.stringify(value, null, 2) + '\n');
}

/** Write a seeded model folder at `outDir` (created if needed). */
export async function createModel(options: CreateModelOptions): Promise<void> {
  const preset = validate(options);
  const dir = options.outDir;
  await mkdir(dir, { recursive: true });
  await removeOldWeights(dir);
  await writeJson(join(dir, 'config.json'), configJson(options, preset));
  await writeJson(join(dir, 'generation_config.json'), generationConfigJson(preset));
  await writeJson(join(dir, 'tokenizer.json'), buildTokenizerJson(preset.vocabSize));
  await writeJson(join(dir, 'tokenizer_config.json'), buildTokenizerConfig(preset.vocabSize, preset.maxPositionEmbeddings));
  const tensors = generateWeights(options.arch, preset, options.seed);
  await writeCheckpoint(dir, tensors, {
    dtype: DTYPES[options.dtype ?? 'f32'].st,
    maxShardBytes: options.maxShardBytes,
    metadata: { format: 'pt' },
  });
}

/**
 * A cached generated model: `outDir` is created on first use (written to a side folder, then
 * renamed, so an interrupted run never leaves a half-written model) and reused after.
 */
export async function ensureModel(options: CreateModelOptions): Promise<string> {
  const dir = options.outDir;
  if (existsSync(join(dir, 'config.json'))) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  await createModel({ ...options, outDir: tmp });
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  return dir;
}
