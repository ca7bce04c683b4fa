// Tests of the whole reference forward pass and of the fixture builder, on seeded toy models.
// Dimensions: T tokens · E hidden · H heads · K kv heads · D head dim · V vocab · X experts
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { HostTensor, LayerWeights, ModelConfig } from '../../src/model/types.ts';
import { makeRandomModel, makeRng } from './fixtures.ts';
import {
  ReferenceDecoder,
  argmax,
  referenceForward,
  referenceGreedy,
  referenceGreedyIncremental,
} from './reference-model.ts';
import { linear, rmsNorm } from './reference-ops.ts';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Rows [K·D, E] of a k/v weight (or [K·D] bias) with every kv head repeated `times` in a row. */
function repeatKvHeads(t: HostTensor, headDim: number, times: number): HostTensor {
  const rowLen = t.shape.length === 2 ? t.shape[1] : 1;
  const block = headDim * rowLen;
  const heads = t.data.length / block;
  const data = new Float32Array(t.data.length * times);
  for (let h = 0; h < heads; h++) {
    const src = t.data.subarray(h * block, (h + 1) * block);
    for (let r = 0; r < times; r++) data.set(src, (h * times + r) * block);
  }
  const shape = [...t.shape];
  shape[0] *= times;
  return { shape, data };
}

const PROMPT = [1, 17, 42, 5, 63, 8];

void describe('makeRandomModel', () => {
  void it('is deterministic per seed', () => {
    const a = makeRandomModel({ arch: 'moe' }, 7);
    const b = makeRandomModel({ arch: 'moe' }, 7);
    const c = makeRandomModel({ arch: 'moe' }, 8);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.weights.embed.data, c.weights.embed.data);
    assert.notDeepEqual(a.weights.layers[1].experts[3].down.data, c.weights.layers[1].experts[3].down.data);
  });

  void it('fills defaults per arch and honours overrides', () => {
    const dense = makeRandomModel({ arch: 'llama', tieWordEmbeddings: true, numLayers: 3 }, 1);
    assert.equal(dense.config.moe, null);
    assert.equal(dense.weights.layers.length, 3);
    assert.equal(dense.weights.lmHead, dense.weights.embed);
    assert.ok(dense.weights.layers.every((l) => l.mlp !== null && l.router === null));
    const moe = makeRandomModel({ arch: 'moe', moe: { numExperts: 3, topK: 1, normTopkProb: false, expertIntermediateSize: 8 } }, 1);
    assert.equal(moe.weights.layers[0].experts.length, 3);
    assert.deepEqual(moe.weights.layers[0].experts[0].gate.shape, [8, 32]);
  });
});

void describe('referenceForward', () => {
  const { config, weights } = makeRandomModel({ arch: 'llama' }, 11);

  void it('returns finite [V] logits for the last position, or for every position', () => {
    const last = referenceForward(config, weights, PROMPT);
    const all = referenceForward(config, weights, PROMPT, { returnAllLogits: true });
    assert.equal(last.logits.length, 1);
    assert.equal(all.logits.length, PROMPT.length);
    assert.equal(last.logits[0].length, config.vocabSize);
    assert.ok(last.logits[0].every(Number.isFinite));
    assert.deepEqual(all.logits[PROMPT.length - 1], last.logits[0]);
    assert.equal(last.expertCounts, undefined);
  });

  void it('is causal: logits at position t do not depend on tokens after t', () => {
    const a = referenceForward(config, weights, [3, 5, 7, 9, 11], { returnAllLogits: true }).logits;
    const b = referenceForward(config, weights, [3, 5, 7, 20, 30], { returnAllLogits: true }).logits;
    for (let t = 0; t < 3; t++) assert.deepEqual(a[t], b[t], `position ${t}`);
    assert.ok(maxAbsDiff(a[3], b[3]) > 1e-3, 'position 3 sees the changed token');
  });

  void it('reduces to lmHead(finalNorm(embedding)) when every layer adds zero', () => {
    // Zero o and down weights: attention and MLP outputs are 0, the residual carries the embedding.
    const zeroed = (t: HostTensor) => ({ shape: t.shape, data: new Float32Array(t.data.length) });
    const layers = weights.layers.map((l) => ({ ...l, o: zeroed(l.o), mlp: { ...l.mlp!, down: zeroed(l.mlp!.down) } }));
    const got = referenceForward(config, { ...weights, layers }, [9, 4]).logits[0];
    const e = config.hiddenSize;
    const x = Float64Array.from(weights.embed.data.subarray(4 * e, 5 * e));
    const want = linear(rmsNorm(x, weights.finalNorm, config.rmsNormEps), weights.lmHead);
    assert.ok(maxAbsDiff(got, want) < 1e-6);
  });

  void it('GQA equals MHA with each kv head duplicated', () => {
    const gqa = makeRandomModel({ arch: 'llama', numHeads: 4, numKvHeads: 2, attentionBias: true }, 5);
    const D = gqa.config.headDim;
    const dup = (t: HostTensor | null) => (t ? repeatKvHeads(t, D, 2) : null);
    const mhaConfig: ModelConfig = { ...gqa.config, numKvHeads: 4 };
    const layers: LayerWeights[] = gqa.weights.layers.map((l) => ({
      ...l, k: dup(l.k)!, v: dup(l.v)!, kBias: dup(l.kBias), vBias: dup(l.vBias),
    }));
    const a = referenceForward(gqa.config, gqa.weights, PROMPT, { returnAllLogits: true }).logits;
    const b = referenceForward(mhaConfig, { ...gqa.weights, layers }, PROMPT, { returnAllLogits: true }).logits;
    a.forEach((row, t) => assert.ok(maxAbsDiff(row, b[t]) < 1e-6, `position ${t}`));
  });

  void it('MoE with top-k = X and identical experts equals the dense MLP with that expert', () => {
    const dense = makeRandomModel({ arch: 'llama', intermediateSize: 24 }, 9);
    const X = 3;
    const rng = makeRng(99);
    const E = dense.config.hiddenSize;
    const moeConfig: ModelConfig = {
      ...dense.config, arch: 'moe', modelType: 'mixtral',
      moe: { numExperts: X, topK: X, normTopkProb: true, expertIntermediateSize: 24 },
    };
    const layers: LayerWeights[] = dense.weights.layers.map((l) => ({
      ...l, mlp: null, experts: [l.mlp!, l.mlp!, l.mlp!],
      router: { shape: [X, E], data: Float32Array.from({ length: X * E }, () => rng() * 2 - 1) },
    }));
    const a = referenceForward(dense.config, dense.weights, PROMPT).logits[0];
    const moe = referenceForward(moeConfig, { ...dense.weights, layers }, PROMPT);
    assert.ok(maxAbsDiff(a, moe.logits[0]) < 1e-6);
    // Every token goes to every expert.
    assert.deepEqual(moe.expertCounts, [[6, 6, 6], [6, 6, 6]]);
  });

  void it('counts T · topK routed tokens per MoE layer', () => {
    const { config: c, weights: w } = makeRandomModel({ arch: 'moe' }, 3);
    const counts = referenceForward(c, w, PROMPT).expertCounts!;
    assert.equal(counts.length, c.numLayers);
    for (const layer of counts) assert.equal(layer.reduce((s, n) => s + n, 0), PROMPT.length * c.moe!.topK);
  });

  void it('rejects out-of-vocab ids and mis-shaped weights', () => {
    assert.throws(() => referenceForward(config, weights, [config.vocabSize]), /outside vocab/);
    assert.throws(() => referenceForward(config, weights, []), /no tokens/);
    const bad = { ...weights, finalNorm: { shape: [3], data: new Float32Array(3) } };
    assert.throws(() => referenceForward(config, bad, [1]), /finalNorm/);
  });
});

void describe('greedy decoding', () => {
  void it('argmax picks the lowest index on ties', () => {
    assert.equal(argmax([0, 3, 1, 3]), 1);
    assert.equal(argmax(Float32Array.from([-1, -1])), 0);
  });

  const variants: [string, Parameters<typeof makeRandomModel>[0]][] = [
    ['dense', { arch: 'llama' }],
    ['dense, q/k/v bias, tied embeddings, MHA', { arch: 'llama', attentionBias: true, tieWordEmbeddings: true, numKvHeads: 4 }],
    ['moe top-2 renormalised', { arch: 'moe' }],
    ['moe top-1 raw softmax weight, GQA 4:1', { arch: 'moe', numKvHeads: 1, moe: { numExperts: 4, topK: 1, normTopkProb: false, expertIntermediateSize: 16 } }],
  ];
  for (const [name, spec] of variants) {
    void it(`full recompute and KV-cache decoding agree (${name})`, () => {
      const { config, weights } = makeRandomModel(spec, 21);
      const full = referenceGreedy(config, weights, PROMPT, 8);
      const inc = referenceGreedyIncremental(config, weights, PROMPT, 8);
      assert.equal(full.length, 8);
      assert.deepEqual(inc, full);
      // Logits too, position by position, over prompt + generated tokens.
      const ids = [...PROMPT, ...full];
      const want = referenceForward(config, weights, ids, { returnAllLogits: true });
      const decoder = new ReferenceDecoder(config, weights);
      ids.forEach((id, t) => assert.ok(maxAbsDiff(decoder.append(id), want.logits[t]) < 1e-6, `t=${t}`));
      assert.equal(decoder.position, ids.length);
      assert.deepEqual(decoder.expertCounts, want.expertCounts);
    });
  }
});
