/**
 * Seeded random models for tests: a `ModelConfig` plus f32 `ModelWeights` in the canonical layout
 * of `src/model/types.ts`, built in memory (no files, no loader), so any test can compare an engine
 * against the reference forward pass on toy sizes.
 *
 * Dimensions: T tokens · E hidden · I intermediate · H heads · K kv heads · D head dim · V vocab ·
 * X experts
 *
 * Determinism: the same (config, seed) always yields bit-identical weights. Tensors are drawn from
 * one mulberry32 stream in a fixed order (embed, then per layer: norms, q, k, v, o, biases, MLP or
 * router + experts, then final norm, then lmHead), so changing one size changes later tensors too.
 */
import type {
  ExpertWeights,
  HostTensor,
  LayerWeights,
  ModelConfig,
  ModelWeights,
  MoeConfig,
} from '../../src/model/types.ts';

export type RandomModelSpec = Partial<ModelConfig> & Pick<ModelConfig, 'arch'>;

export interface RandomModel {
  config: ModelConfig;
  weights: ModelWeights;
}

/** A uniform [0, 1) generator (mulberry32): tiny, fast and good enough for test weights. */
export function makeRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DEFAULT_MOE: MoeConfig = {
  numExperts: 4,
  topK: 2,
  normTopkProb: true,
  expertIntermediateSize: 24,
};

/** Toy defaults: big enough to exercise GQA (H=4, K=2), RoPE (D=8) and 2 layers; tiny to run. */
export function defaultConfig(spec: RandomModelSpec): ModelConfig {
  return {
    modelType: spec.arch === 'moe' ? 'mixtral' : 'llama',
    vocabSize: 64,
    hiddenSize: 32,
    intermediateSize: 48,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 8,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    maxPositionEmbeddings: 256,
    tieWordEmbeddings: false,
    attentionBias: false,
    bosTokenId: 1,
    eosTokenIds: [2],
    ...spec,
    // `moe` left out (or undefined) means "default for this arch"; an explicit null stays null.
    moe: spec.moe !== undefined ? spec.moe : spec.arch === 'moe' ? { ...DEFAULT_MOE } : null,
  };
}

/** A `shape` tensor with entries uniform in [-scale, scale) around `center`. */
function uniform(rng: () => number, shape: number[], scale: number, center = 0): HostTensor {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = center + (2 * rng() - 1) * scale;
  return { shape, data };
}

/** A Linear weight [out, in] scaled by 1/√in so activations stay O(1) through the layers. */
function linear(rng: () => number, out: number, inp: number): HostTensor {
  return uniform(rng, [out, inp], 1 / Math.sqrt(inp));
}

/** SwiGLU weights: gate, up [I, E]; down [E, I]. */
function makeExpert(rng: () => number, e: number, i: number): ExpertWeights {
  return { gate: linear(rng, i, e), up: linear(rng, i, e), down: linear(rng, e, i) };
}

function makeLayer(rng: () => number, c: ModelConfig): LayerWeights {
  const e = c.hiddenSize;
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKvHeads * c.headDim;
  // Norm weights near 1 (not exactly 1) so a missing or misplaced multiply shows up.
  const inputNorm = uniform(rng, [e], 0.2, 1);
  const postAttnNorm = uniform(rng, [e], 0.2, 1);
  const q = linear(rng, qDim, e);
  const k = linear(rng, kvDim, e);
  const v = linear(rng, kvDim, e);
  const o = linear(rng, e, qDim);
  const bias = (n: number): HostTensor | null => (c.attentionBias ? uniform(rng, [n], 0.1) : null);
  const qBias = bias(qDim);
  const kBias = bias(kvDim);
  const vBias = bias(kvDim);
  const layer: LayerWeights = {
    inputNorm, q, k, v, o, qBias, kBias, vBias, postAttnNorm,
    mlp: null, router: null, experts: [],
  };
  if (c.arch === 'moe') {
    const moe = c.moe ?? DEFAULT_MOE;
    layer.router = linear(rng, moe.numExperts, e);
    for (let x = 0; x < moe.numExperts; x++) {
      layer.experts.push(makeExpert(rng, e, moe.expertIntermediateSize));
    }
  } else {
    layer.mlp = makeExpert(rng, e, c.intermediateSize);
  }
  return layer;
}

/**
 * A random model for `spec` (unspecified fields take the toy defaults above) and `seed`.
 * Embeddings are uniform in [-1, 1); `lmHead === embed` when `tieWordEmbeddings`.
 */
export function makeRandomModel(spec: RandomModelSpec, seed: number): RandomModel {
  const config = defaultConfig(spec);
  if (config.arch === 'moe' && config.moe === null) throw new Error('arch moe needs a moe config');
  const rng = makeRng(seed);
  const embed = uniform(rng, [config.vocabSize, config.hiddenSize], 1);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < config.numLayers; l++) layers.push(makeLayer(rng, config));
  const finalNorm = uniform(rng, [config.hiddenSize], 0.2, 1);
  const lmHead = config.tieWordEmbeddings
    ? embed
    : linear(rng, config.vocabSize, config.hiddenSize);
  return { config, weights: { embed, layers, finalNorm, lmHead } };
}
