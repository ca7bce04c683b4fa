/**
 * The generated MoE model's domain structure survives decoding: a batch of prompts from one token
 * domain keeps generating that domain's tokens and keeps routing to that domain's experts, which is
 * what expert-aware placement and the same- vs mixed-domain benchmark rely on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../src/engine.ts';
import { createModel, domainExperts, domainOfToken, domainPromptIds, loadModel, tokenDomains, TOKEN_DOMAINS } from '../../src/model/index.ts';

test('decode keeps a domain batch on its domain and its experts (tiny MoE)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'duet-moe-dom-'));
  try {
    await createModel({ arch: 'moe', preset: 'tiny', seed: 5, outDir: dir });
    const model = await loadModel(dir);
    const moe = model.config.moe!;
    const domains = tokenDomains(model.config.vocabSize);
    for (const [d, spec] of TOKEN_DOMAINS.entries()) {
      const engine = await Engine.create(model, { numKvBlocks: 64 });
      for (let i = 0; i < 4; i++) {
        engine.addRequest({ id: `r${i}`, promptIds: domainPromptIds(domains, spec.name, 16, 10 + i), sampling: { temperature: 0, maxTokens: 12 }, ignoreEos: true });
      }
      const started = new Set<string>();
      while (started.size < 4) for (const o of engine.step().outputs) started.add(o.id);
      const preferred = new Set(domainExperts(d, moe.numExperts, moe.topK).map((e) => e.expert));
      for (let s = 0; s < 8; s++) {
        const r = engine.step();
        for (const o of r.outputs) assert.equal(domainOfToken(domains, o.newTokens[0].id), spec.name, `${spec.name}: generated token stays in domain`);
        r.expertCounts!.forEach((row, layer) =>
          row.forEach((count, x) => assert.ok(preferred.has(x) || count === 0, `${spec.name}: layer ${layer} routed ${count} tokens to expert ${x}`)),
        );
      }
      engine.dispose();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
