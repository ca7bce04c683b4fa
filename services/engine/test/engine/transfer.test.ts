/**
 * Disaggregation inside one process: a "prefill" engine computes the prompt and the first token,
 * its KV is exported layer by layer and imported into a second "decode" engine, which continues.
 * The result must equal uninterrupted decoding on one engine, with greedy and seeded sampling,
 * and when the receiver already holds part of the prefix only the missing positions move.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Engine } from '../../src/engine.ts';
import type { SamplingParams } from '../../src/sampling/params.ts';
import { ARCHS, engineFor, promptOf, randomLoaded } from './helpers.ts';

/** Moves request `id` from `src` (held after prefill) to `dst`, from position `from` on. */
function transfer(src: Engine, dst: Engine, id: string, prompt: number[], from: number, layers: number): number {
  let moved = 0;
  for (let l = 0; l < layers; l++) {
    const range = src.exportKv(id, l, from, prompt.length);
    dst.importKv(id, l, from, range);
    moved += range.k.length + range.v.length;
  }
  return moved;
}

function decodeAll(engine: Engine, id: string): number[] {
  const tokens: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const out = engine.step().outputs.find((o) => o.id === id);
    if (out) tokens.push(...out.newTokens.map((t) => t.id));
    if (out?.finished) return tokens;
  }
  throw new Error('decode did not finish');
}

for (const spec of ARCHS) {
  describe(`KV export/import (${spec.arch})`, () => {
    const model = randomLoaded(spec);
    const c = model.config;
    const cases: Array<[string, Partial<SamplingParams>]> = [
      ['greedy', { temperature: 0, maxTokens: 9 }],
      ['seeded sampling', { temperature: 0.8, topP: 0.95, seed: 77, maxTokens: 9 }],
    ];
    for (const [name, sampling] of cases) {
      test(`${name}: prefill → export → import → decode equals one engine`, async () => {
        const prompt = promptOf(14, c.vocabSize, 3);
        const whole = await engineFor(model);
        const expected = whole.generate({ id: 'r', promptIds: prompt, sampling, ignoreEos: true }).newTokens.map((t) => t.id);

        const prefill = await engineFor(model);
        const first = prefill.generate({ id: 'r', promptIds: prompt, sampling: { ...sampling, maxTokens: 1 }, ignoreEos: true, holdKv: true });
        assert.equal(prefill.stats().held, 1);
        const decode = await engineFor(model);
        const { cachedTokens } = decode.beginImport({ id: 'r', promptIds: prompt, sampling, ignoreEos: true, generated: first.newTokens });
        assert.equal(cachedTokens, 0);
        transfer(prefill, decode, 'r', prompt, 0, c.numLayers);
        decode.finishImport('r');
        assert.equal(prefill.release('r'), true);
        assert.equal(prefill.stats().blocks.usedBlocks, 0, 'the sender frees its blocks');
        const rest = decodeAll(decode, 'r');
        assert.deepEqual([first.newTokens[0].id, ...rest], expected);
        [whole, prefill, decode].forEach((e) => e.dispose());
      });
    }

    test('the first token may arrive at finishImport instead of beginImport', async () => {
      const prompt = promptOf(10, c.vocabSize, 8);
      const sampling = { temperature: 0.7, seed: 5, maxTokens: 6 };
      const whole = await engineFor(model);
      const expected = whole.generate({ id: 'r', promptIds: prompt, sampling, ignoreEos: true }).newTokens.map((t) => t.id);
      const prefill = await engineFor(model);
      const first = prefill.generate({ id: 'r', promptIds: prompt, sampling: { ...sampling, maxTokens: 1 }, ignoreEos: true, holdKv: true });
      const decode = await engineFor(model);
      decode.beginImport({ id: 'r', promptIds: prompt, sampling, ignoreEos: true, generated: [] });
      transfer(prefill, decode, 'r', prompt, 0, c.numLayers);
      assert.throws(() => decode.finishImport('r'), { param: 'generated' });
      decode.finishImport('r', first.newTokens);
      assert.deepEqual([first.newTokens[0].id, ...decodeAll(decode, 'r')], expected);
      [whole, prefill, decode].forEach((e) => e.dispose());
    });

    test('a receiver holding part of the prefix imports only the blocks it lacks', async () => {
      const shared = promptOf(8, c.vocabSize, 4); // 2 blocks of 4
      const prompt = [...shared, ...promptOf(6, c.vocabSize, 5)];
      const sampling = { temperature: 0, maxTokens: 6 };
      const whole = await engineFor(model);
      const expected = whole.generate({ id: 'r', promptIds: prompt, sampling, ignoreEos: true }).newTokens.map((t) => t.id);

      const prefill = await engineFor(model);
      const first = prefill.generate({ id: 'r', promptIds: prompt, sampling: { ...sampling, maxTokens: 1 }, ignoreEos: true, holdKv: true });
      const decode = await engineFor(model);
      decode.generate({ id: 'warm', promptIds: [...shared, 9], sampling: { temperature: 0, maxTokens: 1 }, ignoreEos: true });
      const { cachedTokens } = decode.beginImport({ id: 'r', promptIds: prompt, sampling, ignoreEos: true, generated: first.newTokens });
      assert.equal(cachedTokens, 8, 'two full blocks are already here');
      const floats = transfer(prefill, decode, 'r', prompt, cachedTokens, c.numLayers);
      assert.equal(floats, 2 * c.numLayers * (prompt.length - 8) * c.numKvHeads * c.headDim);
      decode.finishImport('r');
      assert.deepEqual([first.newTokens[0].id, ...decodeAll(decode, 'r')], expected);
      [whole, prefill, decode].forEach((e) => e.dispose());
    });

    test('onLayerStored fires once per layer after that layer is written', async () => {
      const seen: Array<[number, string]> = [];
      const { Engine } = await import('../../src/engine.ts');
      const e = await Engine.create(model, { numKvBlocks: 16, blockSize: 4 }, {
        onLayerStored: (layer, spans) => {
          seen.push([layer, spans.map((s) => `${s.id}:${s.start}-${s.end}`).join(',')]);
          // The layer's KV is readable the moment the hook fires.
          assert.equal(e.exportKv('r', layer, 0, spans[0].end).k.length, spans[0].end * c.numKvHeads * c.headDim);
        },
      });
      e.addRequest({ id: 'r', promptIds: promptOf(5, c.vocabSize), sampling: { temperature: 0, maxTokens: 1 }, ignoreEos: true, holdKv: true });
      e.step();
      assert.deepEqual(seen, Array.from({ length: c.numLayers }, (_, l) => [l, 'r:0-5']));
      e.dispose();
    });

    test('release of an import in progress frees its blocks', async () => {
      const decode = await engineFor(model);
      decode.beginImport({ id: 'r', promptIds: promptOf(10, c.vocabSize), sampling: { maxTokens: 4 }, generated: [{ id: 3, logprob: null, top: null }] });
      assert.ok(decode.stats().blocks.usedBlocks > 0);
      assert.equal(decode.release('r'), true);
      assert.equal(decode.stats().blocks.usedBlocks, 0);
      decode.dispose();
    });
  });
}
