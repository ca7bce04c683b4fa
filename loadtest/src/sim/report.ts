/**
 * A simulation's output folder: exactly what `duet loadtest --out` writes (results.json, report.md,
 * timings.jsonl, the four charts; report/write.ts), then a "Simulation" section appended to
 * report.md — the cluster, policy, cost model and the simulator's own counters — and, when the
 * planner ran, replicas.svg (pool sizes over time).
 */
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lineChart, type Series } from '../report/svg.ts';
import { writeRun } from '../report/write.ts';
import type { RequestTiming } from '../run/timing.ts';
import type { ReplicaPoint } from './autoscale.ts';
import type { SimulationResult } from './simulate.ts';

/** Pool sizes over time, drawn as steps: counted capacity and READY workers per pool. */
export function replicasChart(points: readonly ReplicaPoint[]): string {
  const line = (name: string, f: (p: ReplicaPoint) => number): Series => ({ name, step: true, points: points.map((p) => [p.t_s, f(p)] as const) });
  return lineChart(
    [line('prefill', (p) => p.prefill), line('prefill READY', (p) => p.ready_prefill), line('decode', (p) => p.decode), line('decode READY', (p) => p.ready_decode)],
    { title: 'Replicas over time (planner)', xLabel: 'simulated time (s)', yLabel: 'workers' },
  );
}

function section(r: SimulationResult): string {
  const s = r.simulation;
  const st = s.stats;
  return [
    '',
    '## Simulation',
    '',
    `- cluster: ${s.prefill_workers} prefill + ${s.decode_workers} decode workers${s.prefill_workers === 0 ? ' (role both: aggregated)' : ''}, routing policy \`${s.policy}\`, seed ${s.seed}`,
    `- engine per worker: ${s.engine.numBlocks} KV blocks of ${s.engine.blockSize} tokens, ${s.engine.maxBatchTokens}-token step budget, ≤ ${s.engine.maxRunningSeqs} running sequences`,
    `- cost model \`${s.cost_model.source}\` (${s.cost_model.model}): step = ${s.cost_model.step.baseMs} ms + ${s.cost_model.step.prefillTokenMs} ms/prefill token + ${s.cost_model.step.decodeSeqMs} ms/decoding sequence + ${s.cost_model.step.attentionPairMs} ms/attention pair; KV link ${s.cost_model.transfer.bandwidthMBps} MB/s (${s.cost_model.transfer.transport})`,
    `- simulated ${r.wall_s.toFixed(1)} s in ${s.runtime_s.toFixed(2)} s: ${st.events} events, ${st.steps} worker steps, ${st.disaggregated} disaggregated / ${st.local} local requests, ${st.transferFallbacks} transfer fallbacks, ${st.preemptions} preemptions, ${st.evictions} evicted blocks`,
    `- dropped (failed) requests: ${s.dropped}`,
    ...(s.scaling ? ['', `Planner every ${s.scaling.interval_s} s (${st.workersStarted} workers started, ${st.workersStopped} drained and stopped):`, '', '![replicas over time](replicas.svg)'] : []),
    '',
  ].join('\n');
}

export async function writeSimulation(dir: string, result: SimulationResult, timings: readonly RequestTiming[]): Promise<void> {
  await writeRun(dir, result, timings);
  await appendFile(join(dir, 'report.md'), section(result));
  if (result.simulation.scaling) await writeFile(join(dir, 'replicas.svg'), replicasChart(result.simulation.scaling.replicas));
}
