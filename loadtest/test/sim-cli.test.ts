/**
 * `duet simulate` as a user runs it: --json prints one JSON object on stdout with the documented
 * fields, --out writes the load test's report files, `simulate fit` writes a cost model the
 * simulator loads, a Mooncake trace replays at its own scale, and bad flags fail naming the flag.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SimulationResult } from '../src/index.ts';

const BIN = fileURLToPath(new URL('../../services/cli/bin/duet.js', import.meta.url));
const MOONCAKE = fileURLToPath(new URL('./fixtures/mooncake-small.jsonl', import.meta.url));
const REQUIRED = ['requests', 'wall_s', 'ttft_mean_ms', 'ttft_p90_ms', 'tpot_mean_ms', 'goodput_rps', 'prefix_hit_rate'] as const;

function duet(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }));
  });
}

describe('duet simulate', () => {
  let work = '';
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'duet-sim-cli-'));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  test('--json prints one result object; --out writes results.json and the report', async () => {
    const out = join(work, 'run');
    const r = await duet('simulate', '--workload', 'shared-prefix', '--groups', '2', '--questions', '3', '--prefill', '1', '--decode', '1', '--rate', '2', '--policy', 'prefix-load', '--json', '--out', out);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1, 'stdout holds only the JSON object');
    const printed = JSON.parse(lines[0]) as SimulationResult;
    const saved = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as SimulationResult;
    for (const k of REQUIRED) {
      assert.equal(typeof printed[k], 'number', k);
      assert.equal(printed[k], saved[k], `${k} in results.json`);
    }
    assert.equal(printed.requests, 6);
    assert.equal(printed.failed, 0);
    assert.ok(printed.prefix_hit_rate! > 0, 'the second question of a group hits its system prompt');
    assert.equal(saved.simulation.policy, 'prefix-load');
    assert.match(saved.target.url, /^sim:\/\/1p\+1d\/prefix-load$/);
    assert.match(r.stderr, /simulated 6 requests \(0 failed\) on 1 prefill \+ 1 decode workers/);
    const files = await readdir(out);
    for (const f of ['report.md', 'timings.jsonl', 'ttft-cdf.svg', 'tpot-cdf.svg', 'throughput.svg', 'latency.svg']) assert.ok(files.includes(f), f);
    assert.match(await readFile(join(out, 'report.md'), 'utf8'), /## Simulation\n\n- cluster: 1 prefill \+ 1 decode workers, routing policy `prefix-load`/);
  });

  test('fit: bench output in, a cost model out that the simulator runs with; a Mooncake trace at its own scale', async () => {
    const engine = join(work, 'engine.out');
    const kv = join(work, 'kv.out');
    const model = join(work, 'model.json');
    await writeFile(engine, '> bench:engine\n{"model":"tiny (llama 2L×64; moe 4×top2)","backend":"wasm","threads":1,"weight_bytes":400000,"prefill_tps_512":5000,"decode_tps_b1":500,"decode_tps_b8":2000,"decode_tps_b32":4000}\n');
    await writeFile(kv, '{"bytes":1,"nats_raw_MBps":300,"duet_nats_MBps":200,"nats_ratio":0.67,"tcp_raw_MBps":900,"duet_tcp_MBps":500,"tcp_ratio":0.56}\n');
    const f = await duet('simulate', 'fit', '--engine', engine, '--kv-transfer', kv, '--transport', 'tcp', '--out', model);
    assert.equal(f.code, 0, f.stderr);
    const m = JSON.parse(await readFile(model, 'utf8')) as { model: { layers: number; vocabSize: number }; transfer: { bandwidthMBps: number }; fit: { command: string } };
    assert.deepEqual([m.model.layers, m.model.vocabSize, m.transfer.bandwidthMBps], [2, 1024, 500]);
    assert.match(m.fit.command, /^duet simulate fit --engine /);
    const r = await duet('simulate', '--trace', MOONCAKE, '--native', '--cost-model', model, '--prefill', '1', '--decode', '1', '--speed', '100', '--kv-cache-mib', '64', '--json');
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as SimulationResult;
    assert.equal(res.requests, 6);
    assert.equal(res.failed, 0);
    assert.equal(res.block_size, 512);
    // trace token counts as recorded; full 512-token blocks seen before: 512 + 1024 + 2048 of 8160
    assert.equal(res.prompt_tokens, 1500 + 1100 + 2048 + 512 + 2600 + 400);
    assert.equal(res.output_tokens, 100 + 50 + 300 + 10 + 20 + 600);
    assert.ok(Math.abs(res.prefix_hit_rate_upper_bound - 3584 / 8160) < 1e-12);
    assert.equal(res.workload.params.scale, 'native');
  });

  test('bad flags name the flag; a bad scaling policy names the field', async () => {
    const none = await duet('simulate', '--prefill', '1', '--decode', '1');
    assert.equal(none.code, 2);
    assert.match(none.stderr, /give --trace FILE\|NAME or --workload NAME/);
    assert.match(none.stderr, /duet simulate fit/);
    const noDecode = await duet('simulate', '--workload', 'shared-prefix', '--prefill', '1');
    assert.match(noDecode.stderr, /--decode is required/);
    const policy = await duet('simulate', '--workload', 'shared-prefix', '--prefill', '1', '--decode', '1', '--policy', 'fastest');
    assert.equal(policy.code, 1);
    assert.match(policy.stderr, /no routing policy "fastest".*round-robin.*random/);
    const file = join(work, 'scaling.yaml');
    await writeFile(file, 'apiVersion: duet.dev/v1alpha1\nkind: ScalingPolicy\nspec:\n  prefill: { minReplicas: 3, maxReplicas: 2 }\n');
    const scaling = await duet('simulate', '--workload', 'shared-prefix', '--scaling-policy', file);
    assert.equal(scaling.code, 2);
    assert.match(scaling.stderr, /spec\.prefill\.minReplicas: minReplicas must be <= maxReplicas/);
  });
});
