/**
 * Sizes of the seeded models `createModel` writes. `tiny` is for unit tests (≈ 1 MB), `small` is
 * the demo model, `bench` is large enough that decode is bandwidth-bound (Llama ≈ 60 M params).
 */
import type { Architecture } from './types.ts';

export type PresetName = 'tiny' | 'small' | 'bench';

export interface ModelPreset {
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  /** Dense MLP size (Llama); unused by MoE presets. */
  intermediateSize: number;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  moe: { numExperts: number; topK: number; expertIntermediateSize: number } | null;
}

const TINY: ModelPreset = {
  vocabSize: 1024,
  hiddenSize: 64,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  intermediateSize: 160,
  maxPositionEmbeddings: 2048,
  tieWordEmbeddings: true,
  moe: null,
};

const SMALL: ModelPreset = {
  vocabSize: 8000,
  hiddenSize: 256,
  numLayers: 4,
  numHeads: 8,
  numKvHeads: 4,
  intermediateSize: 768,
  maxPositionEmbeddings: 4096,
  tieWordEmbeddings: false,
  moe: null,
};

const BENCH: ModelPreset = {
  vocabSize: 32000,
  hiddenSize: 512,
  numLayers: 8,
  numHeads: 8,
  numKvHeads: 8,
  intermediateSize: 1536,
  maxPositionEmbeddings: 4096,
  tieWordEmbeddings: false,
  moe: null,
};

/**
 * Tiny Llama ties its embeddings and tiny MoE does not, so tests cover both loader paths.
 * MoE presets keep the attention dims of their Llama sibling.
 */
export const MODEL_PRESETS: Readonly<Record<Architecture, Readonly<Record<PresetName, ModelPreset>>>> = {
  llama: { tiny: TINY, small: SMALL, bench: BENCH },
  moe: {
    tiny: { ...TINY, tieWordEmbeddings: false, moe: { numExperts: 4, topK: 2, expertIntermediateSize: 96 } },
    small: { ...SMALL, moe: { numExperts: 8, topK: 2, expertIntermediateSize: 384 } },
    bench: { ...BENCH, moe: { numExperts: 8, topK: 2, expertIntermediateSize: 768 } },
  },
};
