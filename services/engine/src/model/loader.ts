/**
 * A Hugging Face model folder → LoadedModel (validated config + canonical f32 weights).
 *
 * Every tensor the architecture needs is looked up by its Hugging Face name, checked against the
 * shape the config implies, and decoded once. A tensor the engine would not use is an error too
 * (except RoPE caches): it means the checkpoint computes something we don't (e.g. Qwen3 q_norm).
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ExpertWeights, HostTensor, LayerWeights, LoadedModel, ModelConfig, ModelWeights } from './types.ts';
import { openCheckpoint, type Checkpoint } from './checkpoint.ts';
import { parseModelConfig } from './config.ts';
import { ModelLoadError } from './errors.ts';

/** Tensors that may appear in checkpoints but carry nothing the forward pass needs. */
const IGNORABLE = /\.rotary_emb\.inv_freq$/;

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new ModelLoadError(`${path}: cannot read (${(cause as Error).message})`, { file: path }, { cause });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ModelLoadError(`${path}: not valid JSON`, { file: path }, { cause });
  }
}

/** Reads tensors by name with an expected shape, and remembers which ones were used. */
class TensorTaker {
  readonly used = new Set<string>();

  constructor(
    private readonly ckpt: Checkpoint,
    private readonly dir: string,
  ) {}

  has(name: string): boolean {
    return this.ckpt.entries.has(name);
  }

  async take(name: string, shape: number[]): Promise<HostTensor> {
    const entry = this.ckpt.entries.get(name);
    if (!entry) throw new ModelLoadError(`${this.dir}: missing tensor "${name}"`, { tensor: name });
    const same = entry.shape.length === shape.length && entry.shape.every((d, i) => d === shape[i]);
    if (!same) {
      throw new ModelLoadError(
        `${join(this.dir, entry.file)}: tensor "${name}" has shape [${entry.shape.join(', ')}], config implies [${shape.join(', ')}]`,
        { tensor: name, file: join(this.dir, entry.file) },
      );
    }
    this.used.add(name);
    return this.ckpt.read(name);
  }
}

async function loadMlp(t: TensorTaker, prefix: string, names: [string, string, string], e: number, i: number): Promise<ExpertWeights> {
  return {
    gate: await t.take(`${prefix}.${names[0]}.weight`, [i, e]),
    up: await t.take(`${prefix}.${names[1]}.weight`, [i, e]),
    down: await t.take(`${prefix}.${names[2]}.weight`, [e, i]),
  };
}

/** Router + experts under Mixtral (`block_sparse_moe`, w1/w3/w2) or Qwen-MoE (`mlp`) names. */
async function loadMoe(t: TensorTaker, cfg: ModelConfig, p: string): Promise<Pick<LayerWeights, 'router' | 'experts'>> {
  const moe = cfg.moe!;
  const mixtral = cfg.modelType === 'mixtral';
  const base = mixtral ? `${p}.block_sparse_moe` : `${p}.mlp`;
  const names: [string, string, string] = mixtral ? ['w1', 'w3', 'w2'] : ['gate_proj', 'up_proj', 'down_proj'];
  const router = await t.take(`${base}.gate.weight`, [moe.numExperts, cfg.hiddenSize]);
  const experts: ExpertWeights[] = [];
  for (let j = 0; j < moe.numExperts; j++) {
    experts.push(await loadMlp(t, `${base}.experts.${j}`, names, cfg.hiddenSize, moe.expertIntermediateSize));
  }
  return { router, experts };
}

async function loadLayer(t: TensorTaker, cfg: ModelConfig, l: number): Promise<LayerWeights> {
  const p = `model.layers.${l}`;
  const { hiddenSize: e, numHeads: h, numKvHeads: k, headDim: d } = cfg;
  const bias = (proj: string, n: number): Promise<HostTensor> | null =>
    cfg.attentionBias ? t.take(`${p}.self_attn.${proj}.bias`, [n]) : null;
  const layer: LayerWeights = {
    inputNorm: await t.take(`${p}.input_layernorm.weight`, [e]),
    q: await t.take(`${p}.self_attn.q_proj.weight`, [h * d, e]),
    k: await t.take(`${p}.self_attn.k_proj.weight`, [k * d, e]),
    v: await t.take(`${p}.self_attn.v_proj.weight`, [k * d, e]),
    o: await t.take(`${p}.self_attn.o_proj.weight`, [e, h * d]),
    qBias: await bias('q_proj', h * d),
    kBias: await bias('k_proj', k * d),
    vBias: await bias('v_proj', k * d),
    postAttnNorm: await t.take(`${p}.post_attention_layernorm.weight`, [e]),
    mlp: null,
    router: null,
    experts: [],
  };
  if (cfg.arch === 'moe') return { ...layer, ...(await loadMoe(t, cfg, p)) };
  const mlp = await loadMlp(t, `${p}.mlp`, ['gate_proj', 'up_proj', 'down_proj'], e, cfg.intermediateSize);
  return { ...layer, mlp };
}

async function loadWeights(t: TensorTaker, cfg: ModelConfig): Promise<ModelWeights> {
  const embed = await t.take('model.embed_tokens.weight', [cfg.vocabSize, cfg.hiddenSize]);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < cfg.numLayers; l++) layers.push(await loadLayer(t, cfg, l));
  const finalNorm = await t.take('model.norm.weight', [cfg.hiddenSize]);
  if (cfg.tieWordEmbeddings) {
    // Some exporters still write the tied copy; it is the embedding by definition, so skip it.
    if (t.has('lm_head.weight')) t.used.add('lm_head.weight');
    return { embed, layers, finalNorm, lmHead: embed };
  }
  const lmHead = await t.take('lm_head.weight', [cfg.vocabSize, cfg.hiddenSize]);
  return { embed, layers, finalNorm, lmHead };
}

/** Load config.json (+ generation_config.json) and the safetensors of a model folder. */
export async function loadModel(dir: string): Promise<LoadedModel> {
  const genPath = join(dir, 'generation_config.json');
  const config = parseModelConfig(
    await readJson(join(dir, 'config.json')),
    existsSync(genPath) ? await readJson(genPath) : undefined,
  );
  const ckpt = await openCheckpoint(dir);
  try {
    const taker = new TensorTaker(ckpt, dir);
    const weights = await loadWeights(taker, config);
    const unused = [...ckpt.entries.keys()].filter((n) => !taker.used.has(n) && !IGNORABLE.test(n)).sort();
    if (unused.length > 0) {
      throw new ModelLoadError(
        `${dir}: tensor "${unused[0]}" (and ${unused.length - 1} more) is not part of a ${config.modelType} model the engine can run`,
        { tensor: unused[0] },
      );
    }
    return { dir, config, weights, weightBytesOnDisk: ckpt.dataBytes };
  } finally {
    await ckpt.close();
  }
}
