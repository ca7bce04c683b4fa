/**
 * The engine end to end against the reference: greedy tokens, logprobs, continuous batching of
 * mixed lengths, prefix reuse vs a cold cache, preemption with recompute, and seeded sampling.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { referenceForward, referenceGreedy } from '../reference/reference-model.ts';
import { ARCHS, engineFor, LOGIT_TOL, logSoftmax, promptOf, randomLoaded } from './helpers.ts';
import type { Engine } from '../../src/engine.ts';
import type { RequestOutput } from '../../src/engine.ts';

const greedy = (maxTokens: number) => ({ temperature: 0, maxTokens });

/** Runs the engine until every listed request finishes; returns each request's tokens. */
function drain(engine: Engine, ids: string[]): Map<string, RequestOutput & { tokens: number[] }> {
  const done = new Map<string, RequestOutput & { tokens: number[] }>();
  const tokens = new Map<string, number[]>(ids.map((id) => [id, []]));
  for (let i = 0; i < 10_000 && done.size < ids.length; i++) {
    const r = engine.step();
    for (const o of r.outputs) {
      tokens.get(o.id)?.push(...o.newTokens.map((t) => t.id));
      if (o.finished) done.set(o.id, { ...o, tokens: tokens.get(o.id)! });
    }
  }
  assert.equal(done.size, ids.length, 'all requests finish');
  return done;
}

for (const spec of ARCHS) {
  describe(`engine (${spec.arch})`, () => {
    const model = randomLoaded(spec);
    const V = model.config.vocabSize;

    test('greedy tokens and logprobs equal the reference', async () => {
      const engine = await engineFor(model);
      const prompt = promptOf(11, V);
      const out = engine.generate({ id: 'a', promptIds: prompt, sampling: { ...greedy(12), logprobs: 3 }, ignoreEos: true });
      const expected = referenceGreedy(model.config, model.weights, prompt, 12);
      assert.deepEqual(out.newTokens.map((t) => t.id), expected);
      // Logprob of each chosen token = log-softmax of the reference logits at that step.
      const all = [...prompt, ...expected];
      const ref = referenceForward(model.config, model.weights, all, { returnAllLogits: true });
      out.newTokens.forEach((t, i) => {
        const lp = logSoftmax(ref.logits[prompt.length - 1 + i]);
        assert.ok(Math.abs(t.logprob! - lp[t.id]) < LOGIT_TOL, `logprob ${i}`);
        assert.equal(t.top!.length, 3);
        assert.equal(t.top![0].id, t.id, 'greedy token is the top alternative');
      });
      assert.equal(out.finishReason, 'length');
      assert.equal(out.outputTokens, 12);
      engine.dispose();
    });

    test('a batch of mixed lengths gives each request the tokens it gets alone', async () => {
      const prompts = [promptOf(3, V, 1), promptOf(17, V, 2), promptOf(9, V, 3), promptOf(30, V, 4)];
      const alone = prompts.map((p) => referenceGreedy(model.config, model.weights, p, 6));
      // A small token budget forces chunked prefill interleaved with decodes.
      const engine = await engineFor(model, { maxBatchTokens: 8 });
      prompts.forEach((p, i) => engine.addRequest({ id: `r${i}`, promptIds: p, sampling: greedy(6), ignoreEos: true }));
      const done = drain(engine, prompts.map((_, i) => `r${i}`));
      prompts.forEach((_, i) => assert.deepEqual(done.get(`r${i}`)!.tokens, alone[i], `request ${i}`));
      engine.dispose();
    });

    test('prefix reuse: the second request reports cached tokens and the same output as a cold cache', async () => {
      const shared = promptOf(12, V, 5); // 3 full blocks of 4
      const second = [...shared, ...promptOf(5, V, 6)];
      const cold = await engineFor(model);
      const coldOut = cold.generate({ id: 'b', promptIds: second, sampling: greedy(8), ignoreEos: true });
      assert.equal(coldOut.cachedTokens, 0);
      const warm = await engineFor(model);
      warm.generate({ id: 'a', promptIds: [...shared, ...promptOf(3, V, 7)], sampling: greedy(2), ignoreEos: true });
      const warmOut = warm.generate({ id: 'b', promptIds: second, sampling: greedy(8), ignoreEos: true });
      assert.equal(warmOut.cachedTokens, 12);
      assert.deepEqual(warmOut.newTokens.map((t) => t.id), coldOut.newTokens.map((t) => t.id));
      cold.dispose();
      warm.dispose();
    });

    test('preemption with recompute keeps every output unchanged', async () => {
      const prompts = [promptOf(10, V, 8), promptOf(10, V, 9), promptOf(10, V, 10)];
      const expected = prompts.map((p) => referenceGreedy(model.config, model.weights, p, 14));
      // 3 requests × 24 tokens need 18 blocks of 4; 12 blocks force preemptions.
      const engine = await engineFor(model, { numKvBlocks: 12, enablePrefixCaching: false });
      prompts.forEach((p, i) => engine.addRequest({ id: `p${i}`, promptIds: p, sampling: greedy(14), ignoreEos: true }));
      const done = drain(engine, prompts.map((_, i) => `p${i}`));
      assert.ok(engine.stats().preemptions > 0, 'the pool is small enough to preempt');
      prompts.forEach((_, i) => assert.deepEqual(done.get(`p${i}`)!.tokens, expected[i], `request ${i}`));
      assert.equal(engine.stats().blocks.usedBlocks, 0, 'every block is freed');
      engine.dispose();
    });

    test('seeded sampling is deterministic, batch-independent and seed-sensitive', async () => {
      const sampling = { temperature: 0.9, topP: 0.9, topK: 20, seed: 1234, maxTokens: 10 };
      const p = promptOf(7, V, 11);
      const e1 = await engineFor(model);
      const alone = e1.generate({ id: 's', promptIds: p, sampling, ignoreEos: true }).newTokens.map((t) => t.id);
      const e2 = await engineFor(model);
      e2.addRequest({ id: 'x', promptIds: promptOf(20, V, 12), sampling: { ...sampling, seed: 9 }, ignoreEos: true });
      e2.addRequest({ id: 's', promptIds: p, sampling, ignoreEos: true });
      assert.deepEqual(drain(e2, ['x', 's']).get('s')!.tokens, alone);
      const other = e1.generate({ id: 't', promptIds: p, sampling: { ...sampling, seed: 4321 }, ignoreEos: true });
      assert.notDeepEqual(other.newTokens.map((t) => t.id), alone);
      e1.dispose();
      e2.dispose();
    });

    test('stop tokens end a request with reason stop; abort frees its blocks', async () => {
      const engine = await engineFor(model);
      const p = promptOf(6, V, 13);
      const ref = referenceGreedy(model.config, model.weights, p, 5);
      const out = engine.generate({ id: 'a', promptIds: p, sampling: { ...greedy(5), stopTokenIds: [ref[2]] }, ignoreEos: true });
      assert.equal(out.finishReason, 'stop');
      assert.deepEqual(out.newTokens.map((t) => t.id), ref.slice(0, ref.indexOf(ref[2]) + 1));
      engine.addRequest({ id: 'b', promptIds: p, sampling: greedy(50), ignoreEos: true });
      engine.step();
      assert.ok(engine.stats().blocks.usedBlocks > 0);
      assert.equal(engine.abort('b'), true);
      assert.equal(engine.stats().blocks.usedBlocks, 0);
      assert.equal(engine.abort('b'), false);
      engine.dispose();
    });

    test('invalid requests fail naming the field', async () => {
      const engine = await engineFor(model);
      assert.throws(() => engine.addRequest({ id: 'e', promptIds: [] }), { name: 'InvalidRequestError', param: 'prompt' });
      assert.throws(() => engine.addRequest({ id: 'e', promptIds: [V] }), { param: 'prompt' });
      assert.throws(() => engine.addRequest({ id: 'e', promptIds: [5], sampling: { temperature: -1 } }), { param: 'temperature' });
      assert.throws(() => engine.addRequest({ id: 'e', promptIds: [5], sampling: { maxTokens: 10_000 } }), { param: 'max_tokens' });
      engine.dispose();
    });
  });
}
