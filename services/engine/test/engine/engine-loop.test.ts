/** The async driver: concurrent streams get their own tokens; cancel ends a stream and frees blocks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EngineLoop, type LoopEvent } from '../../src/loop/engine-loop.ts';
import { referenceGreedy } from '../reference/reference-model.ts';
import { engineFor, promptOf, randomLoaded } from './helpers.ts';

async function collect(stream: AsyncIterable<LoopEvent>): Promise<{ tokens: number[]; last: LoopEvent }> {
  const tokens: number[] = [];
  let last: LoopEvent | undefined;
  for await (const ev of stream) {
    if (ev.type === 'tokens') tokens.push(...ev.tokens.map((t) => t.id));
    last = ev;
  }
  return { tokens, last: last! };
}

test('concurrent requests stream their own greedy tokens', async () => {
  const model = randomLoaded({ arch: 'llama' });
  const loop = new EngineLoop(await engineFor(model));
  const prompts = [promptOf(5, 64, 1), promptOf(12, 64, 2), promptOf(3, 64, 3)];
  const results = await Promise.all(prompts.map((p, i) => collect(loop.submit({ id: `r${i}`, promptIds: p, sampling: { temperature: 0, maxTokens: 7 }, ignoreEos: true }))));
  results.forEach((r, i) => {
    assert.deepEqual(r.tokens, referenceGreedy(model.config, model.weights, prompts[i], 7));
    assert.deepEqual(r.last, { type: 'done', finishReason: 'length', promptTokens: prompts[i].length, cachedTokens: 0, outputTokens: 7 });
  });
  await loop.whenIdle();
  assert.equal(loop.activeRequests, 0);
});

test('cancel mid-stream ends the stream with abort and frees every block', async () => {
  const model = randomLoaded({ arch: 'moe' });
  const engine = await engineFor(model);
  const loop = new EngineLoop(engine);
  const stream = loop.submit({ id: 'c', promptIds: promptOf(8, 64), sampling: { temperature: 0, maxTokens: 200 }, ignoreEos: true });
  let seen = 0;
  let last: LoopEvent | undefined;
  for await (const ev of stream) {
    last = ev;
    if (ev.type === 'tokens' && (seen += ev.tokens.length) >= 3) loop.cancel('c');
  }
  assert.equal(last?.type === 'done' && last.finishReason, 'abort');
  await loop.whenIdle();
  assert.equal(engine.stats().blocks.usedBlocks, 0);
  assert.equal(loop.cancel('c'), false);
});
