/**
 * The prefill pool's queue signal at its source: the engine's `pendingPromptTokens` (what a worker
 * reports as LoadReport.inflight_prefill_tokens) counts prompt tokens waiting or not yet
 * prefilled, falls as chunked prefill runs, and is 0 once every prompt is in the cache.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, createModel, loadModel } from '@duet/engine';

let root = '';
let engine: Engine;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'duet-signal-'));
  await createModel({ arch: 'llama', preset: 'tiny', seed: 2, outDir: join(root, 'm') });
  engine = await Engine.create(await loadModel(join(root, 'm')), { numKvBlocks: 64, blockSize: 4, maxBatchTokens: 16, backend: 'cpu' });
});
after(async () => {
  engine?.dispose();
  await rm(root, { recursive: true, force: true });
});

test('pending prompt tokens: all queued, then minus each prefill chunk, then none', () => {
  const prompt = (n: number, salt: number): number[] => Array.from({ length: n }, (_, i) => 3 + ((i * 7 + salt * 13) % 900));
  assert.equal(engine.stats().pendingPromptTokens, 0);
  engine.addRequest({ id: 'a', promptIds: prompt(20, 1), sampling: { maxTokens: 2 } });
  engine.addRequest({ id: 'b', promptIds: prompt(10, 2), sampling: { maxTokens: 2 } });
  assert.equal(engine.stats().pendingPromptTokens, 30);
  engine.step(); // a budget of 16 tokens: the first 16 of a's prompt
  assert.equal(engine.stats().pendingPromptTokens, 14);
  engine.step(); // a's last 4 and b's 10
  assert.equal(engine.stats().pendingPromptTokens, 0);
  while (engine.hasWork()) engine.step();
  assert.equal(engine.stats().pendingPromptTokens, 0);
});
