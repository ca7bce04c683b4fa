/** The sampler on hand-made logits: greedy, temperature, top-k, top-p, seeds and logprobs. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleToken, topN } from '../../src/sampling/sampler.ts';
import { makeSamplingParams, type SamplingParams } from '../../src/sampling/params.ts';
import { uniform } from '../../src/sampling/rng.ts';

const params = (p: Partial<SamplingParams>): SamplingParams => makeSamplingParams({ seed: 1, ...p });
// p ∝ exp(logits): token 2 most likely, then 0, then 3, then 1.
const logits = Float32Array.from([2, 0, 3, 1]);
const probs = (() => {
  const e = [...logits].map(Math.exp);
  const s = e.reduce((a, b) => a + b);
  return e.map((x) => x / s);
})();

function frequencies(p: Partial<SamplingParams>, draws: number): number[] {
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < draws; i++) counts[sampleToken(logits, params(p), i).id]++;
  return counts.map((c) => c / draws);
}

describe('sampler', () => {
  test('temperature 0 is argmax, lowest id on ties', () => {
    assert.equal(sampleToken(logits, params({ temperature: 0 }), 0).id, 2);
    assert.equal(sampleToken(Float32Array.from([1, 5, 5]), params({ temperature: 0 }), 0).id, 1);
  });

  test('temperature 1 draws tokens with the softmax probabilities', () => {
    const f = frequencies({ temperature: 1 }, 20_000);
    f.forEach((x, i) => assert.ok(Math.abs(x - probs[i]) < 0.015, `token ${i}: ${x} vs ${probs[i]}`));
  });

  test('top-k 2 keeps only the two most likely tokens, renormalised', () => {
    const f = frequencies({ temperature: 1, topK: 2 }, 20_000);
    const z = probs[2] + probs[0];
    assert.equal(f[1] + f[3], 0);
    assert.ok(Math.abs(f[2] - probs[2] / z) < 0.015);
  });

  test('top-p keeps the smallest most-likely set reaching p', () => {
    // probs ≈ [0.237, 0.032, 0.644, 0.087]: p = 0.7 needs tokens 2 and 0.
    const f = frequencies({ temperature: 1, topP: 0.7 }, 20_000);
    assert.equal(f[1] + f[3], 0);
    assert.ok(f[0] > 0.2 && f[2] > 0.6);
    // p small enough leaves only the argmax.
    assert.deepEqual(frequencies({ temperature: 1, topP: 0.1 }, 200), [0, 0, 1, 0]);
  });

  test('low temperature sharpens towards the argmax', () => {
    const f = frequencies({ temperature: 0.2 }, 5_000);
    assert.ok(f[2] > 0.99);
  });

  test('a draw depends only on (seed, index)', () => {
    const p = params({ temperature: 1, seed: 42 });
    const a = Array.from({ length: 50 }, (_, i) => sampleToken(logits, p, i).id);
    const b = Array.from({ length: 50 }, (_, i) => sampleToken(logits, p, i).id);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, Array.from({ length: 50 }, (_, i) => sampleToken(logits, params({ temperature: 1, seed: 43 }), i).id));
    for (let i = 0; i < 1000; i++) {
      const u = uniform(7, i);
      assert.ok(u >= 0 && u < 1);
    }
  });

  test('logprobs are the raw log-softmax, with the top alternatives most likely first', () => {
    const t = sampleToken(logits, params({ temperature: 0.5, logprobs: 3 }), 0);
    assert.ok(Math.abs(t.logprob! - Math.log(probs[t.id])) < 1e-6);
    assert.deepEqual(t.top!.map((a) => a.id), [2, 0, 3]);
    t.top!.forEach((a) => assert.ok(Math.abs(a.logprob - Math.log(probs[a.id])) < 1e-6));
    assert.equal(sampleToken(logits, params({ temperature: 0 }), 0).top, null);
  });

  test('topN orders by value then id', () => {
    assert.deepEqual(topN(Float32Array.from([1, 3, 3, 2, 0]), 3), [1, 2, 3]);
    assert.deepEqual(topN(Float32Array.from([5]), 3), [0]);
  });

  test('parameters are validated with the OpenAI field name', () => {
    assert.throws(() => makeSamplingParams({ topP: 0 }), { param: 'top_p' });
    assert.throws(() => makeSamplingParams({ topK: 1.5 }), { param: 'top_k' });
    assert.throws(() => makeSamplingParams({ maxTokens: 0 }), { param: 'max_tokens' });
    assert.throws(() => makeSamplingParams({ logprobs: 21 }), { param: 'top_logprobs' });
  });
});

describe('backend loader', () => {
  test('the tensorflow backend without its package fails naming the package', async () => {
    const { initBackend } = await import('../../src/tfjs/backend.ts');
    await assert.rejects(initBackend('tensorflow'), /@tensorflow\/tfjs-node-gpu/);
    // The failure leaves the loader usable.
    assert.equal((await initBackend('cpu')).name, 'cpu');
    assert.equal((await initBackend('wasm')).name, 'wasm');
  });
});
