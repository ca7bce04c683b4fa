/**
 * The engine's canonical view of a model: a validated config and f32 weights under canonical names.
 *
 * Dimension legend (used in every tensor doc in this package):
 *   V vocab · E hidden (embedding) · I intermediate (MLP) · L layers · H attention heads ·
 *   K kv heads · D head dim · X experts · T tokens
 *
 * Weight matrices keep the Hugging Face orientation `[out, in]` (a Linear's `weight`), so
 * `y = x · Wᵀ`. The engine may re-lay them out for its kernels; the loader never does.
 */

export type Architecture = 'llama' | 'moe';

export interface MoeConfig {
  /** X: routed experts per layer (`num_local_experts` or `num_experts`). */
  numExperts: number;
  /** Experts each token is routed to (`num_experts_per_tok`). */
  topK: number;
  /** Renormalise the top-k gate probabilities to sum to 1 (Mixtral: always true). */
  normTopkProb: boolean;
  /** Intermediate size of one expert (`moe_intermediate_size`, or `intermediate_size` for Mixtral). */
  expertIntermediateSize: number;
}

export interface ModelConfig {
  arch: Architecture;
  /** The `model_type` from config.json, e.g. `llama`, `mixtral`, `qwen3_moe`. */
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  /** True when q/k/v projections carry a bias (`attention_bias`, Qwen2 style). */
  attentionBias: boolean;
  bosTokenId: number | null;
  /** End-of-sequence ids from config.json and generation_config.json (deduplicated). */
  eosTokenIds: number[];
  moe: MoeConfig | null;
}

/** A dense f32 tensor in row-major order. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

export interface ExpertWeights {
  /** [I, E] */ gate: HostTensor;
  /** [I, E] */ up: HostTensor;
  /** [E, I] */ down: HostTensor;
}

export interface LayerWeights {
  /** [E] */ inputNorm: HostTensor;
  /** [H·D, E] */ q: HostTensor;
  /** [K·D, E] */ k: HostTensor;
  /** [K·D, E] */ v: HostTensor;
  /** [E, H·D] */ o: HostTensor;
  /** [H·D] when attentionBias */ qBias: HostTensor | null;
  /** [K·D] when attentionBias */ kBias: HostTensor | null;
  /** [K·D] when attentionBias */ vBias: HostTensor | null;
  /** [E] */ postAttnNorm: HostTensor;
  /** Dense MLP (arch `llama`), else null. */
  mlp: ExpertWeights | null;
  /** MoE router `[X, E]` (arch `moe`), else null. */
  router: HostTensor | null;
  /** X experts (arch `moe`), else empty. */
  experts: ExpertWeights[];
}

export interface ModelWeights {
  /** [V, E] */ embed: HostTensor;
  layers: LayerWeights[];
  /** [E] */ finalNorm: HostTensor;
  /** [V, E]; the same object as `embed` when embeddings are tied. */
  lmHead: HostTensor;
}

export interface LoadedModel {
  dir: string;
  config: ModelConfig;
  weights: ModelWeights;
  /** Bytes the weights occupy on disk (all shards), for bandwidth roofline math. */
  weightBytesOnDisk: number;
}
