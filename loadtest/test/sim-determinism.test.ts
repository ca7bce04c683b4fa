/**
 * The simulator is deterministic under a seed: the same inputs give the same timings and the same
 * results, to the last bit, whichever routing policy draws random numbers; another seed moves the
 * random policy's placements.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { buildSource, engineConfig, simulate, type SimulationResult, type SourceSpec } from '../src/index.ts';
import { testCost } from './sim-fixtures.ts';

const MOONCAKE = fileURLToPath(new URL('./fixtures/mooncake-small.jsonl', import.meta.url));
const cost = testCost({ baseMs: 5, prefillTokenMs: 0.5, decodeSeqMs: 1, attentionPairMs: 0.0001 }, { bandwidthMBps: 50, hopMs: 0.5, routeMs: 1 });

async function run(spec: Omit<SourceSpec, 'blockSize' | 'shape'>, policy: string, seed: number) {
  const source = await buildSource({ ...spec, blockSize: 16, shape: { vocabSize: 1024, maxContextTokens: 2048 } });
  return simulate({ source, cost, engine: engineConfig(cost, { numKvBlocks: 128 }), prefill: 3, decode: 3, policy, seed });
}

/** Everything but the wall-clock fields. */
function stable(r: SimulationResult): unknown {
  const { started_at: _s, sim_runtime_s: _r, simulation, ...rest } = r;
  const { runtime_s: _rt, ...sim } = simulation;
  return { ...rest, simulation: sim };
}

const SHARED: Omit<SourceSpec, 'blockSize' | 'shape'> = {
  workload: { name: 'shared-prefix', groups: 3, questionsPerGroup: 6, systemTokens: 64, questionTokens: 16, maxTokens: 6, seed: 2 },
  arrival: { kind: 'poisson', ratePerS: 20, seed: 2 },
};

describe('sim determinism', () => {
  for (const policy of ['random', 'prefix-load-expert', 'round-robin']) {
    test(`${policy}: two runs with seed 7 are identical`, async () => {
      const a = await run(SHARED, policy, 7);
      const b = await run(SHARED, policy, 7);
      assert.equal(a.timings.length, 18);
      assert.deepEqual(a.timings, b.timings);
      assert.deepEqual(stable(a.result), stable(b.result));
    });
  }

  test('a Mooncake trace replay is identical run to run', async () => {
    const spec = { workload: { name: 'mooncake' as const, trace: MOONCAKE }, arrival: { kind: 'trace' as const, speed: 10 } };
    const a = await run(spec, 'random', 3);
    const b = await run(spec, 'random', 3);
    assert.deepEqual(a.timings, b.timings);
    assert.deepEqual(stable(a.result), stable(b.result));
  });

  test('another seed changes where the random policy places requests', async () => {
    const a = await run(SHARED, 'random', 7);
    const b = await run(SHARED, 'random', 8);
    assert.notDeepEqual(a.timings, b.timings);
  });
});
