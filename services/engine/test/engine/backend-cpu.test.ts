/** The `cpu` backend (for debugging) runs the same engine: same greedy tokens as the reference. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { referenceGreedy } from '../reference/reference-model.ts';
import { ARCHS, engineFor, promptOf, randomLoaded } from './helpers.ts';

for (const spec of ARCHS) {
  test(`cpu backend: greedy tokens equal the reference (${spec.arch})`, async () => {
    const model = randomLoaded(spec, 21);
    const prompt = promptOf(9, model.config.vocabSize, 2);
    const engine = await engineFor(model, { backend: 'cpu' });
    assert.equal(engine.backend.name, 'cpu');
    const out = engine.generate({ id: 'c', promptIds: prompt, sampling: { temperature: 0, maxTokens: 6 }, ignoreEos: true });
    assert.deepEqual(out.newTokens.map((t) => t.id), referenceGreedy(model.config, model.weights, prompt, 6));
    engine.dispose();
  });
}
