/**
 * Seeded weights for generated models, named and shaped like Hugging Face Llama / Mixtral.
 *
 * Init follows HF: every linear and the embedding ~ N(0, 0.02²); RMSNorm weights 1 + N(0, 0.02²)
 * jitter (so a bug that ignores them shows up). The exception, GPT-2's scaled init at half its
 * scale: the projections that write into the residual stream (o_proj, down_proj / w2)
 * ~ N(0, σ_o²) with σ_o = 0.01/√(2L) for L layers.
 * Each tensor draws from its own stream, keyed by (seed, tensor name), so a tensor does not depend
 * on which tensors precede it.
 *
 * Domain structure (all models; it only matters for MoE routing):
 *   u_d       = the 4 domain directions: seeded Gaussian vectors, Gram–Schmidt orthonormalised
 *   embed[t] += β · u_d            for every token t of domain d        (β = DOMAIN_EMBED_SCALE)
 *   router[x] = N(0, 0.02²) + α · Σ_{d prefers x} w · u_d              (α = ROUTER_DOMAIN_LOGIT / √E)
 *   lm_head[t] += γ · u_d          for every token t of domain d        (γ = DOMAIN_LOGIT_SCALE / √E)
 * Attention and MLP outputs grow with E (≈ σ_o·0.02·E^1.5 for an attention output over a domain's
 * tokens); with σ_o = 0.01/√(2L) their sum over the 2L residual writes stays below β·u_d's norm 1
 * up to the bench preset (E 512, 8 layers), so the residual stream keeps pointing along u_d in
 * every layer. (With σ_o = 0.02 the bench MoE lost the domain in its upper layers, and decode of a
 * math prompt drifted into legal tokens.) After RMSNorm a domain-d token
 * has x̂ ≈ √E·u_d, its preferred experts score ≈ α·√E·w = 8·w (8 and 6 for top-2), every other
 * expert ≈ N(0, 0.5²): top-k picks the domain's experts. Preferences: domains.ts domainExperts.
 * The untied LM head gives the domain's own tokens a logit lead of ≈ γ·√E = 6 after a domain-d
 * token, so generation stays in the prompt's domain and decode keeps routing to the same experts
 * (tied heads get the same effect from the embeddings themselves).
 */
import type { Architecture } from './types.ts';
import type { ModelPreset } from './presets.ts';
import type { NamedTensor } from './safetensors.ts';
import { Rng, hashString } from './rng.ts';
import { domainExperts } from './domains.ts';
import { domainBlocks } from './vocab.ts';

export const INIT_STD = 0.02;
export const NORM_JITTER_STD = 0.02;
/**
 * Base std of the residual-writing projections, before ÷√(2L). GPT-2 uses 0.02 (INIT_STD); with it
 * the bench MoE's last layer sent biology tokens to a third expert. Half of it keeps every domain on
 * its experts in every layer (0.7× held too); test/model/domains-decode.test.ts checks it.
 */
export const RESIDUAL_WRITE_STD = 0.01;
/** β: norm of the domain direction added to a domain token's embedding. */
export const DOMAIN_EMBED_SCALE = 1;
/** α·√E: router logit of a domain's first preferred expert for that domain's tokens. */
export const ROUTER_DOMAIN_LOGIT = 8;
/** γ·√E: logit lead an untied LM head gives a domain's tokens after a token of that domain. */
export const DOMAIN_LOGIT_SCALE = 6;

function normal(seed: number, name: string, shape: number[], std: number, mean = 0): NamedTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { name, shape, data: new Rng(seed, hashString(name)).normals(n, std, mean) };
}

/** The 4 orthonormal domain directions u_d, each of length `hidden`. */
export function domainDirections(seed: number, hidden: number): Float32Array[] {
  const rng = new Rng(seed, hashString('duet.domain_directions'));
  const dirs: Float64Array[] = [];
  for (let d = 0; d < 4; d++) {
    const v = Float64Array.from({ length: hidden }, () => rng.normal());
    for (const u of dirs) {
      let dot = 0;
      for (let i = 0; i < hidden; i++) dot += v[i] * u[i];
      for (let i = 0; i < hidden; i++) v[i] -= dot * u[i];
    }
    const norm = Math.hypot(...v);
    dirs.push(v.map((x) => x / norm));
  }
  return dirs.map((v) => Float32Array.from(v));
}

/** A [V, E] matrix whose rows of domain-d tokens get `scale · u_d` added. */
function domainRows(seed: number, name: string, p: ModelPreset, dirs: Float32Array[], scale: number): NamedTensor {
  const t = normal(seed, name, [p.vocabSize, p.hiddenSize], INIT_STD);
  for (const block of domainBlocks(p.vocabSize)) {
    for (let id = block.firstId; id < block.endId; id++) {
      const row = t.data.subarray(id * p.hiddenSize, (id + 1) * p.hiddenSize);
      for (let i = 0; i < p.hiddenSize; i++) row[i] += scale * dirs[block.index][i];
    }
  }
  return t;
}

function router(seed: number, name: string, p: ModelPreset, dirs: Float32Array[]): NamedTensor {
  const { numExperts, topK } = p.moe!;
  const alpha = ROUTER_DOMAIN_LOGIT / Math.sqrt(p.hiddenSize);
  const t = normal(seed, name, [numExperts, p.hiddenSize], INIT_STD);
  dirs.forEach((u, d) => {
    for (const { expert, weight } of domainExperts(d, numExperts, topK)) {
      const row = t.data.subarray(expert * p.hiddenSize, (expert + 1) * p.hiddenSize);
      for (let i = 0; i < p.hiddenSize; i++) row[i] += alpha * weight * u[i];
    }
  });
  return t;
}

/** SwiGLU MLP weights under `prefix`, with HF (`gate_proj`…) or Mixtral (`w1`…) names. */
function mlp(seed: number, prefix: string, names: [string, string, string], e: number, i: number, outStd: number): NamedTensor[] {
  return [
    normal(seed, `${prefix}.${names[0]}.weight`, [i, e], INIT_STD),
    normal(seed, `${prefix}.${names[1]}.weight`, [i, e], INIT_STD),
    normal(seed, `${prefix}.${names[2]}.weight`, [e, i], outStd),
  ];
}

/**
 * Std of the projections that write into the residual stream (o_proj, down_proj / w2): GPT-2's
 * scaled init, RESIDUAL_WRITE_STD / √(2L) for L layers (2L residual writes).
 */
export function residualWriteStd(p: Pick<ModelPreset, 'numLayers'>): number {
  return RESIDUAL_WRITE_STD / Math.sqrt(2 * p.numLayers);
}

function layer(seed: number, arch: Architecture, p: ModelPreset, l: number, dirs: Float32Array[]): NamedTensor[] {
  const pre = `model.layers.${l}`;
  const e = p.hiddenSize;
  const d = e / p.numHeads;
  const outStd = residualWriteStd(p);
  const out = [
    normal(seed, `${pre}.self_attn.q_proj.weight`, [p.numHeads * d, e], INIT_STD),
    normal(seed, `${pre}.self_attn.k_proj.weight`, [p.numKvHeads * d, e], INIT_STD),
    normal(seed, `${pre}.self_attn.v_proj.weight`, [p.numKvHeads * d, e], INIT_STD),
    normal(seed, `${pre}.self_attn.o_proj.weight`, [e, p.numHeads * d], outStd),
  ];
  if (arch === 'moe') {
    out.push(router(seed, `${pre}.block_sparse_moe.gate.weight`, p, dirs));
    for (let j = 0; j < p.moe!.numExperts; j++) {
      out.push(...mlp(seed, `${pre}.block_sparse_moe.experts.${j}`, ['w1', 'w3', 'w2'], e, p.moe!.expertIntermediateSize, outStd));
    }
  } else {
    out.push(...mlp(seed, `${pre}.mlp`, ['gate_proj', 'up_proj', 'down_proj'], e, p.intermediateSize, outStd));
  }
  out.push(normal(seed, `${pre}.input_layernorm.weight`, [e], NORM_JITTER_STD, 1));
  out.push(normal(seed, `${pre}.post_attention_layernorm.weight`, [e], NORM_JITTER_STD, 1));
  return out;
}

/** All tensors of a generated model, in the order transformers' state_dict lists them. */
export function generateWeights(arch: Architecture, p: ModelPreset, seed: number): NamedTensor[] {
  const dirs = domainDirections(seed, p.hiddenSize);
  const tensors = [domainRows(seed, 'model.embed_tokens.weight', p, dirs, DOMAIN_EMBED_SCALE)];
  for (let l = 0; l < p.numLayers; l++) tensors.push(...layer(seed, arch, p, l, dirs));
  tensors.push(normal(seed, 'model.norm.weight', [p.hiddenSize], NORM_JITTER_STD, 1));
  if (!p.tieWordEmbeddings) tensors.push(domainRows(seed, 'lm_head.weight', p, dirs, DOMAIN_LOGIT_SCALE / Math.sqrt(p.hiddenSize)));
  return tensors;
}
