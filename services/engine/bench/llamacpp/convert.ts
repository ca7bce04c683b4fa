/**
 * A Duet / Hugging Face model folder (`llama`, `mistral` or `mixtral`) → an f32 GGUF laid out as
 * llama.cpp's convert_hf_to_gguf.py (`LlamaModel`) lays it out: architecture "llama", HF tensor
 * names mapped to GGUF names, q/k rows permuted to llama.cpp's RoPE pairing, Mixtral experts
 * stacked into one 3-D tensor per projection.
 *
 * Dimension legend: V vocab · E hidden · I intermediate · H heads · K kv heads · D head dim ·
 * X experts. Shapes below are row-major (outermost first); GGUF's `ne` is the reverse.
 *
 *   HF name                                         GGUF name                  shape
 *   model.embed_tokens.weight                       token_embd.weight          [V, E]
 *   model.layers.N.input_layernorm.weight           blk.N.attn_norm.weight     [E]
 *   model.layers.N.self_attn.{q,k,v,o}_proj.weight  blk.N.attn_{q,k,v,output}  [H·D, E] [K·D, E] [K·D, E] [E, H·D]
 *   model.layers.N.post_attention_layernorm.weight  blk.N.ffn_norm.weight      [E]
 *   model.layers.N.mlp.{gate,up,down}_proj.weight   blk.N.ffn_{gate,up,down}   [I, E] [I, E] [E, I]
 *   ….block_sparse_moe.gate.weight                  blk.N.ffn_gate_inp.weight  [X, E]
 *   ….block_sparse_moe.experts.*.{w1,w3,w2}.weight  blk.N.ffn_{gate,up,down}_exps  [X, I, E] [X, I, E] [X, E, I]
 *   model.norm.weight                               output_norm.weight         [E]
 *   lm_head.weight (absent when tied)               output.weight              [V, E]
 */
import { readdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { loadModel } from '../../src/model/loader.ts';
import type { ExpertWeights, HostTensor, LayerWeights, LoadedModel, ModelConfig } from '../../src/model/types.ts';
import { gguf, writeGguf, type GgufMetadata, type GgufTensor } from './gguf-writer.ts';
import { addTokenizerMetadata } from './gguf-vocab.ts';

const LLAMA_FAMILY = ['llama', 'mistral', 'mixtral'];
/** gguf-py `LlamaFileType.ALL_F32`. */
const FILE_TYPE_ALL_F32 = 0;
/** gguf-py `GGML_QUANT_VERSION`; the converter writes it whatever the file type. */
const GGML_QUANT_VERSION = 2;

/**
 * HF Llama q/k rows use the rotate-half RoPE pairing (i, i + D/2) within each head; llama.cpp's
 * "normal" RoPE pairs adjacent rows (2i, 2i+1). The converter's `permute` reshapes the rows to
 * [heads, 2, D/2] and swaps the middle axes:
 *
 *   GGUF row h·D + 2i + s  =  HF row h·D + s·D/2 + i        (s ∈ {0, 1}, i < D/2)
 *
 * `heads` is H for q and K for k. w [heads·D, cols] → same shape, rows reordered.
 */
export function permuteQk(w: HostTensor, heads: number): Float32Array {
  const [rows, cols] = w.shape;
  const d = rows / heads;
  if (!Number.isInteger(d) || d % 2 !== 0) throw new Error(`permuteQk: ${rows} rows do not split into ${heads} heads of even size`);
  const half = d / 2;
  const out = new Float32Array(w.data.length);
  for (let h = 0; h < heads; h++) {
    for (let s = 0; s < 2; s++) {
      for (let i = 0; i < half; i++) {
        const from = (h * d + s * half + i) * cols;
        out.set(w.data.subarray(from, from + cols), (h * d + 2 * i + s) * cols);
      }
    }
  }
  return out;
}

/** Experts' matrices of one projection stacked on a new outer axis: X × [r, c] → [X, r, c]. */
export function stackExperts(experts: readonly ExpertWeights[], proj: keyof ExpertWeights): GgufTensor['data'] {
  const size = experts[0][proj].data.length;
  const out = new Float32Array(size * experts.length);
  experts.forEach((x, j) => out.set(x[proj].data, j * size));
  return out;
}

function t(name: string, w: HostTensor, data: Float32Array = w.data): GgufTensor {
  return { name, shape: w.shape, data };
}

function layerTensors(c: ModelConfig, lw: LayerWeights, n: number): GgufTensor[] {
  const p = `blk.${n}`;
  const out = [
    t(`${p}.attn_norm.weight`, lw.inputNorm),
    t(`${p}.attn_q.weight`, lw.q, permuteQk(lw.q, c.numHeads)),
    t(`${p}.attn_k.weight`, lw.k, permuteQk(lw.k, c.numKvHeads)),
    t(`${p}.attn_v.weight`, lw.v),
    t(`${p}.attn_output.weight`, lw.o),
    t(`${p}.ffn_norm.weight`, lw.postAttnNorm),
  ];
  if (lw.mlp) {
    return [...out, t(`${p}.ffn_gate.weight`, lw.mlp.gate), t(`${p}.ffn_up.weight`, lw.mlp.up), t(`${p}.ffn_down.weight`, lw.mlp.down)];
  }
  const stacked = (name: string, proj: keyof ExpertWeights): GgufTensor => ({
    name: `${p}.${name}.weight`,
    shape: [lw.experts.length, ...lw.experts[0][proj].shape],
    data: stackExperts(lw.experts, proj),
  });
  return [...out, t(`${p}.ffn_gate_inp.weight`, lw.router!), stacked('ffn_gate_exps', 'gate'), stacked('ffn_down_exps', 'down'), stacked('ffn_up_exps', 'up')];
}

/** Every tensor in file order (HF state-dict order); no `output.weight` when embeddings are tied. */
export function modelTensors(model: LoadedModel): GgufTensor[] {
  const { config: c, weights: w } = model;
  const tensors = [t('token_embd.weight', w.embed), ...w.layers.flatMap((lw, n) => layerTensors(c, lw, n)), t('output_norm.weight', w.finalNorm)];
  if (!c.tieWordEmbeddings) tensors.push(t('output.weight', w.lmHead));
  return tensors;
}

/** The general.* and llama.* keys the converter writes for a Llama / Mixtral model. */
export function modelMetadata(c: ModelConfig, name: string): GgufMetadata {
  const meta: GgufMetadata = new Map();
  meta.set('general.architecture', gguf.str('llama'));
  meta.set('general.type', gguf.str('model'));
  meta.set('general.name', gguf.str(name));
  meta.set('llama.block_count', gguf.u32(c.numLayers));
  meta.set('llama.context_length', gguf.u32(c.maxPositionEmbeddings));
  meta.set('llama.embedding_length', gguf.u32(c.hiddenSize));
  meta.set('llama.feed_forward_length', gguf.u32(c.moe ? c.moe.expertIntermediateSize : c.intermediateSize));
  meta.set('llama.attention.head_count', gguf.u32(c.numHeads));
  meta.set('llama.attention.head_count_kv', gguf.u32(c.numKvHeads));
  meta.set('llama.rope.freq_base', gguf.f32(c.ropeTheta));
  meta.set('llama.attention.layer_norm_rms_epsilon', gguf.f32(c.rmsNormEps));
  if (c.moe) {
    meta.set('llama.expert_count', gguf.u32(c.moe.numExperts));
    meta.set('llama.expert_used_count', gguf.u32(c.moe.topK));
  }
  meta.set('llama.attention.key_length', gguf.u32(c.headDim));
  meta.set('llama.attention.value_length', gguf.u32(c.headDim));
  meta.set('general.file_type', gguf.u32(FILE_TYPE_ALL_F32));
  meta.set('llama.vocab_size', gguf.u32(c.vocabSize));
  meta.set('llama.rope.dimension_count', gguf.u32(c.headDim));
  meta.set('general.quantization_version', gguf.u32(GGML_QUANT_VERSION));
  return meta;
}

/** Metadata and tensors of the GGUF for an already loaded model folder. */
export async function ggufContents(model: LoadedModel): Promise<{ metadata: GgufMetadata; tensors: GgufTensor[] }> {
  const c = model.config;
  if (!LLAMA_FAMILY.includes(c.modelType) || c.attentionBias) {
    throw new Error(`convertToGguf: model_type "${c.modelType}" is not a Llama-family model (supported: ${LLAMA_FAMILY.join(', ')})`);
  }
  const metadata = modelMetadata(c, model.dir.split('/').filter(Boolean).pop() ?? 'model');
  await addTokenizerMetadata(metadata, model.dir, c.vocabSize);
  return { metadata, tensors: modelTensors(model) };
}

/**
 * Convert the model folder `modelDir` to an f32 GGUF at `outFile`. Weights stored as f16/bf16
 * are widened to f32 by the loader. Returns the file size in bytes.
 */
export async function convertToGguf(modelDir: string, outFile: string): Promise<{ bytes: number; tensors: number }> {
  const { metadata, tensors } = await ggufContents(await loadModel(modelDir));
  return { bytes: await writeGguf(outFile, metadata, tensors), tensors: tensors.length };
}

async function mtimeMs(path: string): Promise<number> {
  return (await stat(path).catch(() => null))?.mtimeMs ?? -1;
}

/**
 * The GGUF at `ggufPath`, converted from `modelDir` unless it is already newer than every file of
 * the folder. Written to a temporary name and renamed, so an interrupted run leaves no half file.
 */
export async function ensureGguf(modelDir: string, ggufPath: string): Promise<string> {
  const newest = Math.max(...(await Promise.all((await readdir(modelDir)).map((f) => mtimeMs(join(modelDir, f))))));
  if ((await mtimeMs(ggufPath)) > newest) return ggufPath;
  const tmp = `${ggufPath}.tmp-${process.pid}`;
  await convertToGguf(modelDir, tmp);
  await rename(tmp, ggufPath);
  return ggufPath;
}
