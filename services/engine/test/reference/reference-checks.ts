/**
 * Input validation for the reference forward pass: every weight's shape against the config, and
 * token ids against the vocabulary, so a mismatched loader or fixture fails loudly here rather
 * than as a silent out-of-bounds read (typed arrays return undefined → NaN).
 *
 * Dimensions: E hidden · I intermediate · H heads · K kv heads · D head dim · V vocab · X experts
 */
import type { ExpertWeights, HostTensor, ModelConfig, ModelWeights } from '../../src/model/types.ts';

function expectShape(name: string, t: HostTensor | null, shape: number[]): void {
  if (!t) throw new Error(`reference: ${name} missing, expected [${shape.join(', ')}]`);
  const size = shape.reduce((a, b) => a * b, 1);
  if (t.shape.join() !== shape.join() || t.data.length !== size) {
    throw new Error(
      `reference: ${name} has shape [${t.shape.join(', ')}] (${t.data.length} values), ` +
        `expected [${shape.join(', ')}]`,
    );
  }
}

function checkExpert(name: string, w: ExpertWeights, e: number, i: number): void {
  expectShape(`${name}.gate`, w.gate, [i, e]);
  expectShape(`${name}.up`, w.up, [i, e]);
  expectShape(`${name}.down`, w.down, [e, i]);
}

/** Throws unless every tensor in `w` has the shape `c` implies. */
export function checkWeights(c: ModelConfig, w: ModelWeights): void {
  const E = c.hiddenSize;
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKvHeads * c.headDim;
  if (c.numHeads % c.numKvHeads !== 0) {
    throw new Error(`reference: ${c.numHeads} heads not a multiple of ${c.numKvHeads} kv heads`);
  }
  expectShape('embed', w.embed, [c.vocabSize, E]);
  expectShape('lmHead', w.lmHead, [c.vocabSize, E]);
  expectShape('finalNorm', w.finalNorm, [E]);
  if (w.layers.length !== c.numLayers) {
    throw new Error(`reference: ${w.layers.length} layers, config says ${c.numLayers}`);
  }
  w.layers.forEach((lw, l) => {
    const p = `layers[${l}]`;
    expectShape(`${p}.inputNorm`, lw.inputNorm, [E]);
    expectShape(`${p}.postAttnNorm`, lw.postAttnNorm, [E]);
    expectShape(`${p}.q`, lw.q, [qDim, E]);
    expectShape(`${p}.k`, lw.k, [kvDim, E]);
    expectShape(`${p}.v`, lw.v, [kvDim, E]);
    expectShape(`${p}.o`, lw.o, [E, qDim]);
    if (c.attentionBias) {
      expectShape(`${p}.qBias`, lw.qBias, [qDim]);
      expectShape(`${p}.kBias`, lw.kBias, [kvDim]);
      expectShape(`${p}.vBias`, lw.vBias, [kvDim]);
    } else if (lw.qBias || lw.kBias || lw.vBias) {
      throw new Error(`reference: ${p} carries q/k/v biases but attentionBias is false`);
    }
    if (c.moe) {
      const moe = c.moe;
      expectShape(`${p}.router`, lw.router, [moe.numExperts, E]);
      if (lw.experts.length !== moe.numExperts) {
        throw new Error(`reference: ${p} has ${lw.experts.length} experts, config says ${moe.numExperts}`);
      }
      lw.experts.forEach((ew, x) => checkExpert(`${p}.experts[${x}]`, ew, E, moe.expertIntermediateSize));
    } else {
      if (!lw.mlp) throw new Error(`reference: ${p}.mlp missing`);
      checkExpert(`${p}.mlp`, lw.mlp, E, c.intermediateSize);
    }
  });
}

/** Throws unless `ids` is non-empty and every id is an integer in [0, V). */
export function checkInputs(c: ModelConfig, ids: number[]): void {
  if (ids.length === 0) throw new Error('reference: no tokens');
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize) {
      throw new Error(`reference: token id ${id} outside vocab [0, ${c.vocabSize})`);
    }
  }
}
