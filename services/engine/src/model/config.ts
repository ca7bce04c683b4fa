/**
 * config.json (+ generation_config.json) → ModelConfig.
 *
 * Supported: Llama-family dense (`llama`, `mistral`, `qwen2`) and sparse MoE (`mixtral`,
 * `qwen2_moe`, `qwen3_moe`). Anything the engine would compute wrongly — RoPE scaling, an active
 * sliding window, shared experts, mixed dense/sparse layers, another activation — is rejected with
 * a ModelConfigError naming the config.json field, never silently ignored.
 */
import { z } from 'zod';
import type { Architecture, ModelConfig, MoeConfig } from './types.ts';
import { ModelConfigError } from './errors.ts';
import {
  idList,
  nonNegativeInt,
  optional,
  positiveInt,
  positiveNumber,
  required,
  requireThat,
  type RawConfig,
} from './config-fields.ts';

const DENSE_TYPES = ['llama', 'mistral', 'qwen2'] as const;
const MOE_TYPES = ['mixtral', 'qwen2_moe', 'qwen3_moe'] as const;
export const SUPPORTED_MODEL_TYPES: readonly string[] = [...DENSE_TYPES, ...MOE_TYPES];

const ropeObject = z.object({ rope_type: z.string().optional(), type: z.string().optional() }).loose();

function asObject(v: unknown, file: string): RawConfig {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new ModelConfigError('(root)', `${file}: expected a JSON object`);
  }
  return v as RawConfig;
}

/** RoPE: plain rotary only. `rope_scaling: {"rope_type": "default"}` is plain too. */
function parseRopeTheta(raw: RawConfig): number {
  for (const field of ['rope_scaling', 'rope_parameters']) {
    const v = optional(raw, field, ropeObject, null);
    const kind = v?.rope_type ?? v?.type ?? 'default';
    requireThat(kind === 'default', field, `asks for RoPE type "${kind}"; only plain RoPE (null or "default") is supported`);
  }
  const params = optional(raw, 'rope_parameters', z.object({ rope_theta: positiveNumber.optional() }).loose(), null);
  return params?.rope_theta ?? optional(raw, 'rope_theta', positiveNumber, 10000);
}

/** Sliding-window attention is not implemented: reject it wherever it would be active. */
function rejectSlidingWindow(raw: RawConfig, modelType: string, maxPositions: number): void {
  const window = optional(raw, 'sliding_window', nonNegativeInt, null);
  if (modelType.startsWith('qwen')) {
    // Qwen configs carry a window size but only apply it when use_sliding_window is true.
    const use = optional(raw, 'use_sliding_window', z.boolean(), false);
    requireThat(!use || window === null, 'use_sliding_window', `is true (sliding_window ${window}); sliding-window attention is not supported`);
    return;
  }
  requireThat(
    window === null || window >= maxPositions,
    'sliding_window',
    `is ${window} (< max_position_embeddings ${maxPositions}); sliding-window attention is not supported`,
  );
}

function parseMoe(raw: RawConfig, modelType: string): MoeConfig {
  const mixtral = modelType === 'mixtral';
  const numExperts = required(raw, mixtral ? 'num_local_experts' : 'num_experts', positiveInt);
  const topK = required(raw, 'num_experts_per_tok', positiveInt);
  requireThat(topK <= numExperts, 'num_experts_per_tok', `(${topK}) exceeds the number of experts (${numExperts})`);
  if (mixtral) {
    return { numExperts, topK, normTopkProb: true, expertIntermediateSize: required(raw, 'intermediate_size', positiveInt) };
  }
  const shared = optional(raw, 'shared_expert_intermediate_size', nonNegativeInt, 0);
  requireThat(shared === 0, 'shared_expert_intermediate_size', `is ${shared}; shared experts are not supported`);
  const step = optional(raw, 'decoder_sparse_step', positiveInt, 1);
  requireThat(step === 1, 'decoder_sparse_step', `is ${step}; only all-sparse layers (1) are supported`);
  const mlpOnly = optional(raw, 'mlp_only_layers', z.array(nonNegativeInt), []);
  requireThat(mlpOnly.length === 0, 'mlp_only_layers', 'lists dense layers; mixed dense/sparse models are not supported');
  return {
    numExperts,
    topK,
    normTopkProb: optional(raw, 'norm_topk_prob', z.boolean(), false),
    expertIntermediateSize: required(raw, 'moe_intermediate_size', positiveInt),
  };
}

/**
 * q/k/v bias: always on for Qwen2, `qkv_bias` (default on) for Qwen2-MoE. Elsewhere
 * `attention_bias` also puts a bias on o_proj, which the canonical weights cannot hold.
 */
function parseAttentionBias(raw: RawConfig, modelType: string): boolean {
  if (modelType === 'qwen2') return true;
  if (modelType === 'qwen2_moe') return optional(raw, 'qkv_bias', z.boolean(), true);
  const bias = optional(raw, 'attention_bias', z.boolean(), false);
  requireThat(!bias, 'attention_bias', `is true; ${modelType} then also biases o_proj, which is not supported`);
  return false;
}

function parseHeads(raw: RawConfig, hiddenSize: number): { numHeads: number; numKvHeads: number; headDim: number } {
  const numHeads = required(raw, 'num_attention_heads', positiveInt);
  const numKvHeads = optional(raw, 'num_key_value_heads', positiveInt, numHeads);
  requireThat(numHeads % numKvHeads === 0, 'num_key_value_heads', `(${numKvHeads}) must divide num_attention_heads (${numHeads})`);
  const explicit = optional(raw, 'head_dim', positiveInt, null);
  if (explicit === null) {
    requireThat(hiddenSize % numHeads === 0, 'hidden_size', `(${hiddenSize}) is not divisible by num_attention_heads (${numHeads}) and head_dim is not given`);
  }
  return { numHeads, numKvHeads, headDim: explicit ?? hiddenSize / numHeads };
}

/** Token ids: config.json first, then generation_config.json (which may add chat-turn ends). */
function parseSpecialIds(raw: RawConfig, gen: RawConfig | null): { bosTokenId: number | null; eosTokenIds: number[] } {
  const bos = optional(raw, 'bos_token_id', nonNegativeInt, null);
  const genBos = gen ? optional(gen, 'bos_token_id', nonNegativeInt, null, 'generation_config.json') : null;
  const eos = [...idList(raw, 'eos_token_id'), ...(gen ? idList(gen, 'eos_token_id', 'generation_config.json') : [])];
  return { bosTokenId: bos ?? genBos, eosTokenIds: [...new Set(eos)] };
}

/** Validate a Hugging Face config; throws ModelConfigError naming the offending field. */
export function parseModelConfig(configJson: unknown, generationConfigJson?: unknown): ModelConfig {
  const raw = asObject(configJson, 'config.json');
  const gen = generationConfigJson === undefined || generationConfigJson === null ? null : asObject(generationConfigJson, 'generation_config.json');
  const modelType = required(raw, 'model_type', z.string());
  requireThat(SUPPORTED_MODEL_TYPES.includes(modelType), 'model_type', `"${modelType}" is not supported (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`);
  const arch: Architecture = (MOE_TYPES as readonly string[]).includes(modelType) ? 'moe' : 'llama';

  const act = optional(raw, 'hidden_act', z.string(), 'silu');
  requireThat(act === 'silu', 'hidden_act', `is "${act}"; only "silu" (SwiGLU) is supported`);
  const mlpBias = optional(raw, 'mlp_bias', z.boolean(), false);
  requireThat(!mlpBias, 'mlp_bias', 'is true; MLP biases are not supported');

  const hiddenSize = required(raw, 'hidden_size', positiveInt);
  const maxPositionEmbeddings = required(raw, 'max_position_embeddings', positiveInt);
  rejectSlidingWindow(raw, modelType, maxPositionEmbeddings);
  const moe = arch === 'moe' ? parseMoe(raw, modelType) : null;
  return {
    arch,
    modelType,
    vocabSize: required(raw, 'vocab_size', positiveInt),
    hiddenSize,
    // Mixtral's intermediate_size is the expert size; Qwen-MoE's is the (unused) dense size.
    intermediateSize: moe && modelType !== 'mixtral'
      ? optional(raw, 'intermediate_size', positiveInt, moe.expertIntermediateSize)
      : required(raw, 'intermediate_size', positiveInt),
    numLayers: required(raw, 'num_hidden_layers', positiveInt),
    ...parseHeads(raw, hiddenSize),
    rmsNormEps: optional(raw, 'rms_norm_eps', positiveNumber, 1e-6),
    ropeTheta: parseRopeTheta(raw),
    maxPositionEmbeddings,
    tieWordEmbeddings: optional(raw, 'tie_word_embeddings', z.boolean(), false),
    attentionBias: parseAttentionBias(raw, modelType),
    ...parseSpecialIds(raw, gen),
    moe,
  };
}
