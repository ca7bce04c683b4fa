/**
 * The MoE domain structure at decode time, through the real engine on the largest preset (bench,
 * E 512, 8 layers), where it is hardest to keep: greedy generation stays in the prompt's domain, so
 * a one-domain decode batch keeps using that domain's two experts in every layer and a batch of
 * four domains uses all eight. `moe_decode_tps_b8_same_domain / _mixed_domain` (bench:engine)
 * measures exactly these two batches.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModel } from '../../src/model/create.ts';
import { loadModel } from '../../src/model/loader.ts';
import { domainExperts, domainOfToken, domainPromptIds, tokenDomains } from '../../src/model/domains.ts';
import { TOKEN_DOMAINS, type DomainName } from '../../src/model/vocab.ts';
import { Engine } from '../../src/engine.ts';
import type { LoadedModel } from '../../src/model/types.ts';

const temps: string[] = [];
after(() => Promise.all(temps.map((d) => rm(d, { recursive: true, force: true }))));

const STEPS = 24;

interface Decoded {
  /** Generated token ids per prompt. */
  tokens: number[][];
  /** [step][layer] experts that received at least one token. */
  active: number[][][];
}

async function decode(model: LoadedModel, prompts: number[][]): Promise<Decoded> {
  const engine = await Engine.create(model, { threads: 1, maxRunningSeqs: prompts.length, maxBatchTokens: 512, numKvBlocks: 64 });
  try {
    prompts.forEach((p, i) => engine.addRequest({ id: String(i), promptIds: p, sampling: { temperature: 0, maxTokens: STEPS + 1 }, ignoreEos: true }));
    const tokens = prompts.map((): number[] => []);
    const active: number[][][] = [];
    while (engine.hasWork()) {
      const r = engine.step();
      for (const o of r.outputs) tokens[Number(o.id)].push(...o.newTokens.map((t) => t.id));
      if (r.outputs.length === prompts.length && r.scheduledTokens === prompts.length) {
        active.push(r.expertCounts!.map((counts) => [...counts.keys()].filter((e) => counts[e] > 0)));
      }
    }
    return { tokens, active };
  } finally {
    engine.dispose();
  }
}

test('bench moe: greedy decode stays in the prompt domain; one domain uses 2 experts per layer, four use 8', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'duet-dom-decode-'));
  temps.push(dir);
  await createModel({ arch: 'moe', preset: 'bench', seed: 0, outDir: dir, dtype: 'bf16' });
  const model = await loadModel(dir);
  const { numExperts, topK } = model.config.moe!;
  const domains = tokenDomains(model.config.vocabSize);
  const prompt = (d: DomainName, i: number): number[] => domainPromptIds(domains, d, 32, 1000 + i);

  const mixed = await decode(model, Array.from({ length: 8 }, (_, i) => prompt(TOKEN_DOMAINS[i % 4].name, i)));
  mixed.tokens.forEach((ids, i) => {
    const want = TOKEN_DOMAINS[i % 4].name;
    const inDomain = ids.filter((id) => domainOfToken(domains, id) === want).length / ids.length;
    assert.ok(inDomain >= 0.9, `prompt ${i} (${want}): ${inDomain} of generated tokens in its domain: ${ids.map((id) => domainOfToken(domains, id)).join(' ')}`);
  });
  assert.ok(mixed.active.length >= STEPS - 1);
  const allEight = mixed.active.filter((layers) => layers.every((a) => a.length === numExperts)).length / mixed.active.length;
  assert.ok(allEight >= 0.9, `mixed batch: ${allEight} of steps use all ${numExperts} experts in every layer`);

  const code = domainExperts(0, numExperts, topK).map((x) => x.expert).sort().join(',');
  const same = await decode(model, Array.from({ length: 8 }, (_, i) => prompt('code', i)));
  const exact = same.active.filter((layers) => layers.every((a) => a.join(',') === code)).length / same.active.length;
  assert.ok(exact >= 0.9, `one-domain batch: ${exact} of steps use exactly experts ${code} in every layer`);
});
