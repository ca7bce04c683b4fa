/**
 * A short real load test: the local platform (nats-server, router, 1 prefill + 1 decode worker,
 * gateway, each its own process) on a tiny generated model, driven by `duet loadtest` as a user
 * runs it. Ten shared-prefix requests must all succeed, results.json must hold the documented
 * fields, `--json` must print the result as the last stdout line, and requests that repeat a
 * system prompt must be served partly from the prefix cache. `duet loadtest compare` then launches
 * a fresh platform per placement mode, each with the routing policy it is given.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensureModel } from '@duet/engine';
import { launchPlatform, type Platform } from '@duet/cli';
import { freePort } from '@duet/testkit';
import type { LoadTestResult } from '../src/index.ts';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../services/cli/bin/duet.js', import.meta.url));
const REQUIRED = ['requests', 'wall_s', 'ttft_mean_ms', 'ttft_p90_ms', 'tpot_mean_ms', 'goodput_rps', 'prefix_hit_rate'] as const;

describe('duet loadtest against the local platform', () => {
  let work = '';
  let modelDir = '';
  let platform: Platform | undefined;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'duet-loadtest-'));
    modelDir = await ensureModel({ arch: 'llama', preset: 'tiny', seed: 0, outDir: join(work, 'tiny-llama') });
    platform = await launchPlatform({
      port: await freePort(), host: '127.0.0.1', modelDir, prefill: 1, decode: 1, transport: 'nats', backend: 'wasm', kvCacheMib: 32,
      logDir: join(work, 'logs'), readyTimeoutMs: 60_000,
    });
  });
  after(async () => {
    await platform?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test('10 shared-prefix requests: no errors, the documented results, cache hits', async () => {
    const out = join(work, 'out');
    const { stdout, stderr } = await run(process.execPath, [
      BIN, 'loadtest', '--url', platform!.gatewayUrl, '--workload', 'shared-prefix', '--groups', '2', '--questions', '5',
      '--system-tokens', '64', '--question-tokens', '16', '--max-tokens', '8', '--concurrency', '2', '--model-dir', modelDir,
      '--warmup', '1', '--out', out, '--json',
    ], { timeout: 60_000 });
    const last = JSON.parse(stdout.trim().split('\n').at(-1)!) as LoadTestResult;
    const saved = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as LoadTestResult;
    for (const k of REQUIRED) {
      assert.equal(typeof saved[k], 'number', `${k} in results.json`);
      assert.equal(last[k], saved[k], `${k} on stdout`);
    }
    assert.equal(saved.requests, 10);
    assert.equal(saved.failed, 0, JSON.stringify(saved.errors));
    assert.deepEqual(saved.errors, {});
    assert.equal(saved.target.model, 'tiny-llama');
    assert.ok(saved.ttft_mean_ms! > 0 && saved.tpot_mean_ms! > 0 && saved.wall_s > 0);
    // 8 of 10 requests repeat a 64-token system prompt (4 blocks): bound 8·64 / (10·80) = 0.64
    assert.equal(saved.prefix_hit_rate_upper_bound, 0.64);
    assert.ok(saved.prefix_hit_rate! > 0 && saved.prefix_hit_rate! <= 0.64, `hit rate ${saved.prefix_hit_rate}`);
    assert.ok(saved.output_tokens > 0 && saved.output_tokens <= 80);
    // stderr is not a terminal: plain progress lines, the last one complete
    assert.match(stderr, /loadtest: 10\/10 done, 0 errors/);
    assert.ok((await readdir(out)).includes('ttft-cdf.svg'));
  });

  test('compare: aggregated vs disaggregated under a routing policy, each on a fresh platform, side by side', async () => {
    const out = join(work, 'compare');
    const { stdout } = await run(process.execPath, [
      BIN, 'loadtest', 'compare', '--modes', 'aggregated,disaggregated', '--policies', 'prefix-load', '--model-dir', modelDir, '--kv-cache-mib', '32', '--warmup', '1',
      '--workload', 'shared-prefix', '--groups', '1', '--questions', '4', '--system-tokens', '32', '--question-tokens', '8', '--max-tokens', '4',
      '--concurrency', '1', '--out', out, '--json',
    ], { timeout: 90_000 });
    const { variants } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { variants: Array<LoadTestResult & { name: string }> };
    assert.deepEqual(variants.map((v) => [v.name, v.requests, v.failed]), [['aggregated+prefix-load', 4, 0], ['disaggregated+prefix-load', 4, 0]]);
    // Each platform starts cold (the warm-up shares nothing): requests 2–4 reuse the 2 system blocks, 3·32 / (4·40)
    for (const v of variants) assert.equal(v.prefix_hit_rate, (3 * 32) / (4 * 40), v.name);
    assert.ok((await readdir(join(out, 'aggregated+prefix-load', 'logs'))).includes('decode-1.log'), 'aggregated runs 2 both-workers');
    assert.ok((await readdir(join(out, 'disaggregated+prefix-load', 'logs'))).includes('prefill-0.log'));
    // the router got the policy
    assert.match(await readFile(join(out, 'disaggregated+prefix-load', 'logs', 'router.log'), 'utf8'), /"policy":"prefix-load"/);
    assert.match(await readFile(join(out, 'report.md'), 'utf8'), /\| TTFT mean \(ms\) \| [\d.]+ \| [\d.]+ \|/);
  });
});
