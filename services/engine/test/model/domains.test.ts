/**
 * MoE domain structure: tokens of one domain must route to that domain's experts in every layer.
 * The check runs a plain-loop forward: RMSNorm → attention → RMSNorm → router → top-k experts.
 * Attention is causal with uniform weights (q·k of 0.02-scale weights is ≈ 0, so the real softmax
 * is nearly uniform); for a one-token sequence that is exact (a token attends only to itself).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModel } from '../../src/model/create.ts';
import { loadModel } from '../../src/model/loader.ts';
import { domainExperts, domainOfToken, domainPromptIds, domainTokenIds, tokenDomains } from '../../src/model/domains.ts';
import { TOKEN_DOMAINS } from '../../src/model/vocab.ts';
import type { ExpertWeights, HostTensor, LayerWeights, LoadedModel } from '../../src/model/types.ts';

const temps: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'duet-dom-'));
  temps.push(d);
  return d;
}
after(() => Promise.all(temps.map((d) => rm(d, { recursive: true, force: true }))));

/** y = W·x for W [out, in]. */
function matvec(w: HostTensor, x: Float32Array): Float32Array {
  const [out, inn] = w.shape;
  const y = new Float32Array(out);
  for (let r = 0; r < out; r++) {
    let s = 0;
    for (let c = 0; c < inn; c++) s += w.data[r * inn + c] * x[c];
    y[r] = s;
  }
  return y;
}

function rmsNorm(x: Float32Array, w: HostTensor, eps: number): Float32Array {
  const ms = x.reduce((s, v) => s + v * v, 0) / x.length;
  const inv = 1 / Math.sqrt(ms + eps);
  return x.map((v, i) => v * inv * w.data[i]);
}

function swiglu(m: ExpertWeights, x: Float32Array): Float32Array {
  const g = matvec(m.gate, x);
  const u = matvec(m.up, x);
  return matvec(m.down, g.map((v, i) => (v / (1 + Math.exp(-v))) * u[i]));
}

function topK(logits: Float32Array, k: number): number[] {
  return [...logits.keys()].sort((a, b) => logits[b] - logits[a]).slice(0, k);
}

/** Causal uniform attention over the sequence; GQA: head h reads kv head ⌊h·K/H⌋. */
function attention(l: LayerWeights, xs: Float32Array[], m: LoadedModel): Float32Array[] {
  const { numHeads: H, numKvHeads: K, headDim: D } = m.config;
  const vs = xs.map((x) => matvec(l.v, x));
  const sum = new Float32Array(K * D);
  return vs.map((v, t) => {
    for (let i = 0; i < sum.length; i++) sum[i] += v[i];
    const heads = new Float32Array(H * D);
    for (let h = 0; h < H; h++) {
      const kv = Math.floor((h * K) / H);
      for (let i = 0; i < D; i++) heads[h * D + i] = sum[kv * D + i] / (t + 1);
    }
    return matvec(l.o, heads);
  });
}

/** Runs `ids` through every layer; returns the top-k expert sets per layer and position. */
function routes(m: LoadedModel, ids: number[]): number[][][] {
  const { rmsNormEps: eps, moe } = m.config;
  const e = m.config.hiddenSize;
  let hs = ids.map((id) => m.weights.embed.data.slice(id * e, (id + 1) * e));
  return m.weights.layers.map((l) => {
    const attn = attention(l, hs.map((h) => rmsNorm(h, l.inputNorm, eps)), m);
    hs = hs.map((h, t) => h.map((v, i) => v + attn[t][i]));
    return hs.map((h) => {
      const x = rmsNorm(h, l.postAttnNorm, eps);
      const logits = matvec(l.router!, x);
      const chosen = topK(logits, moe!.topK);
      // Gate weights: softmax over the chosen logits (Mixtral renormalises top-k).
      const z = chosen.map((j) => Math.exp(logits[j] - logits[chosen[0]]));
      const zsum = z.reduce((a, b) => a + b, 0);
      chosen.forEach((j, c) => swiglu(l.experts[j], x).forEach((v, i) => (h[i] += (z[c] / zsum) * v)));
      return chosen;
    });
  });
}

/** Fraction of positions in `perLayer` whose chosen experts are exactly `want`, worst layer. */
function worstLayerHitRate(perLayer: number[][][], want: number[]): number {
  const key = [...want].sort().join(',');
  return Math.min(...perLayer.map((pos) => pos.filter((c) => [...c].sort().join(',') === key).length / pos.length));
}

async function moeModel(preset: 'tiny' | 'small'): Promise<LoadedModel> {
  const outDir = await tempDir();
  await createModel({ arch: 'moe', preset, seed: 11, outDir, dtype: 'bf16' });
  return loadModel(outDir);
}

test('token domains: disjoint contiguous blocks, lookups and seeded prompts', () => {
  const d = tokenDomains(8000);
  assert.deepEqual(d.domains.map((b) => [b.name, b.firstId, b.endId]), [
    ['code', 256, 2191],
    ['math', 2191, 4126],
    ['legal', 4126, 6061],
    ['biology', 6061, 7995],
  ]);
  assert.equal(domainOfToken(d, 255), null);
  assert.equal(domainOfToken(d, 7995), null);
  assert.equal(domainOfToken({ vocabSize: 8000 }, 5000), 'legal');
  assert.equal(domainTokenIds(d, 'code').length, 1935);
  const p = domainPromptIds({ vocabSize: 8000 }, 'math', 50, 9);
  assert.deepEqual(p, domainPromptIds(d, 'math', 50, 9));
  assert.notDeepEqual(p, domainPromptIds(d, 'math', 50, 10));
  assert.ok(p.every((id) => domainOfToken(d, id) === 'math'));
});

test('preferred experts: 8 experts → {2d, 2d+1}; 4 experts → {d, d+1 mod 4}', () => {
  assert.deepEqual([0, 1, 2, 3].map((d) => domainExperts(d, 8, 2).map((x) => x.expert)), [[0, 1], [2, 3], [4, 5], [6, 7]]);
  assert.deepEqual([0, 1, 2, 3].map((d) => domainExperts(d, 4, 2).map((x) => x.expert)), [[0, 1], [1, 2], [2, 3], [3, 0]]);
});

for (const preset of ['tiny', 'small'] as const) {
  test(`${preset} moe: ≥ 90% of each domain's tokens pick its experts in every layer`, async () => {
    const m = await moeModel(preset);
    const { numExperts, topK: k } = m.config.moe!;
    const domains = tokenDomains(m.config.vocabSize);
    for (const [d, spec] of TOKEN_DOMAINS.entries()) {
      const want = domainExperts(d, numExperts, k).map((x) => x.expert);
      // Each token alone (every token for tiny, a spread sample for small) ...
      const ids = domainTokenIds(domains, spec.name).filter((_, i) => preset === 'tiny' || i % 64 === 0);
      const single = ids.map((id) => routes(m, [id]));
      const perLayer = m.weights.layers.map((_, l) => single.map((r) => r[l][0]));
      const alone = worstLayerHitRate(perLayer, want);
      assert.ok(alone >= 0.9, `${spec.name}: ${alone} of single tokens route to experts ${want.join(',')}`);
      // ... and inside a 32-token prompt of the domain.
      const inPrompt = worstLayerHitRate(routes(m, domainPromptIds(domains, spec.name, 32, d)), want);
      assert.ok(inPrompt >= 0.9, `${spec.name}: ${inPrompt} of prompt positions route to experts ${want.join(',')}`);
    }
  });
}
