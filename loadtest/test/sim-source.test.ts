/**
 * What a simulation replays: trace names resolve in the shared workloads folder, the load tester's
 * workloads and arrivals are reused as they are, and multi-turn sessions wait for their previous
 * turn (and its think time) as the load tester's runner makes them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSource, buildWorkload, engineConfig, resolveTrace, scheduleArrivals, simulate } from '../src/index.ts';
import { testCost } from './sim-fixtures.ts';

const MOONCAKE = fileURLToPath(new URL('./fixtures/mooncake-small.jsonl', import.meta.url));
const SHAPE = { vocabSize: 1024, maxContextTokens: 2048 };

describe('sim source', () => {
  let dir = '';
  const saved = process.env.DUET_WORKLOADS_DIR;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'duet-sim-traces-'));
    await mkdir(join(dir, 'mooncake'));
    await copyFile(MOONCAKE, join(dir, 'mooncake', 'conversation_trace.jsonl'));
    await writeFile(join(dir, 'x.csv'), 'TIMESTAMP,ContextTokens,GeneratedTokens\n');
    process.env.DUET_WORKLOADS_DIR = dir;
  });
  after(async () => {
    if (saved === undefined) delete process.env.DUET_WORKLOADS_DIR;
    else process.env.DUET_WORKLOADS_DIR = saved;
    await rm(dir, { recursive: true, force: true });
  });

  test('trace names resolve under $DUET_WORKLOADS_DIR; paths by extension; unknown names list the known ones', () => {
    assert.deepEqual(resolveTrace('mooncake-conversation'), { path: join(dir, 'mooncake', 'conversation_trace.jsonl'), kind: 'mooncake' });
    assert.deepEqual(resolveTrace(join(dir, 'x.csv')), { path: join(dir, 'x.csv'), kind: 'azure' });
    assert.throws(() => resolveTrace('azure-code'), /no trace azure-code \(looked for .*AzureLLMInferenceTrace_code\.csv; set DUET_WORKLOADS_DIR\)/);
    assert.throws(() => resolveTrace('nope.jsonl'), /trace names: mooncake-conversation, mooncake-synthetic, mooncake-arxiv, azure-code, azure-conv/);
  });

  test('a workload-scale source is the load test workload with the same send times', async () => {
    const spec = { name: 'mooncake' as const, trace: MOONCAKE };
    const src = await buildSource({ workload: spec, arrival: { kind: 'trace', speed: 2 }, blockSize: 16, shape: SHAPE });
    const sent = scheduleArrivals(await buildWorkload(spec, SHAPE), { kind: 'trace', speed: 2 });
    assert.deepEqual(src.requests.map((r) => [r.id, r.arrivalMs, r.promptTokens, r.maxTokens]), sent.map((r) => [r.id, r.arrivalMs, r.promptIds.length, r.maxTokens]));
    // one 16-token block per trace block, so the reuse bound is the trace's: 9 of 18 hash ids seen before
    assert.equal(src.requests[2].blockHashes.length, 4);
    assert.ok(Math.abs(src.bound - 9 / 18) < 1e-12, String(src.bound));
  });

  test('multi-turn: a turn is sent after its previous turn ended plus the think time', async () => {
    const source = await buildSource({
      workload: { name: 'multi-turn', sessions: 3, turns: 3, systemTokens: 32, questionTokens: 8, maxTokens: 4, thinkMs: 250 },
      arrival: { kind: 'poisson', ratePerS: 50, seed: 1 }, blockSize: 16, shape: SHAPE,
    });
    const cost = testCost();
    const { timings } = await simulate({ source, cost, engine: engineConfig(cost, { numKvBlocks: 128 }), prefill: 1, decode: 1, policy: 'prefix-load', seed: 1 });
    assert.equal(timings.length, 9);
    const byId = new Map(timings.map((t) => [t.id, t]));
    for (const r of source.requests) {
      if (!r.session || r.session.turn === 0) continue;
      const prev = source.requests.find((x) => x.session?.id === r.session!.id && x.session.turn === r.session!.turn - 1)!;
      assert.ok(byId.get(r.id)!.startMs >= byId.get(prev.id)!.endMs + 250, `${r.id} after ${prev.id} + 250 ms`);
    }
    // each later turn extends the last, so it finds the previous turn's prompt cached
    assert.ok(timings.filter((t) => t.cachedTokens! > 0).length >= 6);
  });
});
