/**
 * The real planner (@duet/operator/planner) in the simulator: on a bursty workload the pools grow
 * from the queued-prompt and running-sequence signals, shrink by draining between bursts, and no
 * request is dropped.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScalingPolicySpec } from '@duet/operator/planner';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSource, engineConfig, simulate, writeSimulation } from '../src/index.ts';
import { testCost } from './sim-fixtures.ts';

describe('sim autoscale', () => {
  test('bursts: the pools grow, drain back between bursts, and nothing is dropped', async () => {
    const cost = testCost({ baseMs: 10, prefillTokenMs: 1, decodeSeqMs: 2 }, { bandwidthMBps: 100 });
    // two bursts of 30 requests (128-token prompts, 8 tokens out), 30 s apart
    const source = await buildSource({
      workload: { name: 'moe-domains', requests: 60, promptTokens: 128, maxTokens: 8, seed: 1 },
      arrival: { kind: 'burst', size: 30, intervalMs: 30_000 }, blockSize: 16, shape: { vocabSize: 1024, maxContextTokens: 2048 },
    });
    const scaling = parseScalingPolicySpec({
      intervalSeconds: 1,
      prefill: { minReplicas: 1, maxReplicas: 4, thresholds: { queuedPromptTokensPerReplica: 512 }, scaleDown: { stabilizationWindowSeconds: 3 } },
      decode: { minReplicas: 1, maxReplicas: 4, thresholds: { runningSequencesPerReplica: 4 }, scaleDown: { stabilizationWindowSeconds: 3 } },
    });
    const { result, timings } = await simulate({ source, cost, engine: engineConfig(cost, { numKvBlocks: 512 }), prefill: 1, decode: 1, policy: 'prefix-load', seed: 1, scaling, workerStartupMs: 2000 });
    const replicas = result.simulation.scaling!.replicas;
    assert.equal(result.simulation.dropped, 0);
    assert.equal(timings.filter((t) => t.error !== null).length, 0);
    assert.equal(result.completed, 60);
    const peak = Math.max(...replicas.map((p) => p.prefill));
    assert.ok(peak > 1, `prefill pool grew (peak ${peak})`);
    assert.ok(peak <= 4, 'and stayed within maxReplicas');
    // between the bursts (t = 15 … 29 s) the prefill pool drained back below its peak
    const quiet = replicas.filter((p) => p.t_s >= 15 && p.t_s < 30);
    assert.ok(quiet.length > 0 && Math.min(...quiet.map((p) => p.prefill)) < peak, JSON.stringify(quiet.map((p) => p.prefill)));
    // READY never exceeds what is counted, and a new worker is READY only after its 2 s start
    for (const p of replicas) assert.ok(p.ready_prefill <= p.prefill && p.ready_decode <= p.decode);
    assert.equal(replicas[0].ready_prefill, 1);
    assert.ok(result.simulation.stats.workersStopped > 0, 'some worker drained and stopped');
    // the report gets the replicas chart
    const dir = await mkdtemp(join(tmpdir(), 'duet-sim-scale-'));
    try {
      await writeSimulation(dir, result, timings);
      assert.ok((await readdir(dir)).includes('replicas.svg'));
      assert.match(await readFile(join(dir, 'report.md'), 'utf8'), /Planner every 1 s \(\d+ workers started, \d+ drained and stopped\):\n\n!\[replicas over time\]\(replicas\.svg\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
