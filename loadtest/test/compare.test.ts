/**
 * `compare` with an injected launcher: variants from modes × policies, and for each variant a fresh
 * target (launched, warmed up, measured, stopped, in that order), its own report folder, and a
 * side-by-side report. Fresh targets are the cache reset: the second variant starts with an empty
 * cache, so its hit rate equals the first's.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildVariants, runCompare, runLoadTest, sharedPrefixWorkload, tokenRangeForVocab, warmUp, warmupRequests, WorkloadError } from '../src/index.ts';
import { startFakeServer } from './fake-server.ts';

describe('variants', () => {
  test('placement modes at equal worker counts', () => {
    assert.deepEqual(buildVariants({ modes: ['aggregated', 'disaggregated'], policies: [], prefill: 2, decode: 2 }), [
      { name: 'aggregated', prefill: 0, decode: 4, policyFile: null },
      { name: 'disaggregated', prefill: 2, decode: 2, policyFile: null },
    ]);
  });

  test('policies (named by file), crossed with modes when both are given', () => {
    assert.deepEqual(buildVariants({ modes: [], policies: ['/p/prefix-load.yaml', 'round-robin'], prefill: 1, decode: 1 }).map((v) => [v.name, v.prefill, v.policyFile]), [
      ['prefix-load', 1, '/p/prefix-load.yaml'],
      ['round-robin', 1, 'round-robin'],
    ]);
    assert.deepEqual(buildVariants({ modes: ['aggregated', 'disaggregated'], policies: ['a.yaml', 'b.yaml'], prefill: 1, decode: 1 }).map((v) => v.name), [
      'aggregated+a', 'aggregated+b', 'disaggregated+a', 'disaggregated+b',
    ]);
  });

  test('fewer than two variants, clashing names or empty pools are refused', () => {
    assert.throws(() => buildVariants({ modes: ['aggregated'], policies: [], prefill: 1, decode: 1 }), (e: unknown) => e instanceof WorkloadError && /at least two variants/.test(e.message));
    assert.throws(() => buildVariants({ modes: [], policies: ['x/a.yaml', 'y/a.yaml'], prefill: 1, decode: 1 }), /share a name/);
    assert.throws(() => buildVariants({ modes: ['aggregated', 'disaggregated'], policies: [], prefill: 0, decode: 1 }), /--prefill ≥ 1/);
  });
});

describe('runCompare', () => {
  test('each variant: launch → warm-up → run → stop, own folder, then the side-by-side report', async () => {
    const out = await mkdtemp(join(tmpdir(), 'duet-compare-'));
    const events: string[] = [];
    const range = tokenRangeForVocab(1024);
    const workload = sharedPrefixWorkload({ groups: 2, questionsPerGroup: 3, systemTokens: 32, questionTokens: 8, maxTokens: 3, range });
    try {
      const variants = buildVariants({ modes: ['aggregated', 'disaggregated'], policies: [], prefill: 1, decode: 1 });
      const { entries } = await runCompare({
        variants, outDir: out,
        launch: async (v, logDir) => {
          const fake = await startFakeServer();
          events.push(`launch ${v.name} ${v.prefill}+${v.decode} ${logDir.endsWith(join(v.name, 'logs'))}`);
          return { url: fake.url, model: 'fake-model', stop: async () => { events.push(`stop ${v.name}`); await fake.close(); } };
        },
        warmup: async (t, v) => {
          events.push(`warmup ${v.name}`);
          await warmUp({ url: t.url, model: t.model, requests: warmupRequests(2, 32, 2, range) });
        },
        run: (t, v) => {
          events.push(`run ${v.name}`);
          return runLoadTest({ url: t.url, model: t.model, workload, arrival: { kind: 'closed', concurrency: 1 } });
        },
      });
      assert.deepEqual(events, [
        'launch aggregated 0+2 true', 'warmup aggregated', 'run aggregated', 'stop aggregated',
        'launch disaggregated 1+1 true', 'warmup disaggregated', 'run disaggregated', 'stop disaggregated',
      ]);
      // Fresh cache per variant and a warm-up that shares nothing: both see the same hits —
      // 4 of 6 requests reuse 32 system tokens of 40.
      for (const e of entries) assert.equal(e.result.prefix_hit_rate, (4 * 32) / (6 * 40));
      assert.deepEqual((await readdir(out)).sort(), ['aggregated', 'compare.json', 'disaggregated', 'latency.svg', 'report.md', 'throughput.svg', 'tpot-cdf.svg', 'ttft-cdf.svg']);
      assert.ok((await readdir(join(out, 'aggregated'))).includes('results.json'));
      const summary = JSON.parse(await readFile(join(out, 'compare.json'), 'utf8')) as { variants: Array<{ name: string; prefill: number; requests: number; timeline?: unknown }> };
      assert.deepEqual(summary.variants.map((v) => [v.name, v.prefill, v.requests, v.timeline]), [['aggregated', 0, 6, undefined], ['disaggregated', 1, 6, undefined]]);
      const md = await readFile(join(out, 'report.md'), 'utf8');
      assert.match(md, /\| metric \| \[aggregated\]\(aggregated\/report\.md\) \| \[disaggregated\]\(disaggregated\/report\.md\) \|/);
      // both variants overlaid in each chart
      assert.equal((await readFile(join(out, 'ttft-cdf.svg'), 'utf8')).split('<polyline').length - 1, 2);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  test('once the signal aborts (Ctrl-C), no further variant starts', async () => {
    const out = await mkdtemp(join(tmpdir(), 'duet-compare-'));
    const ctrl = new AbortController();
    const launched: string[] = [];
    const fake = await startFakeServer();
    const workload = sharedPrefixWorkload({ groups: 1, questionsPerGroup: 1, systemTokens: 16, questionTokens: 4, maxTokens: 1, range: tokenRangeForVocab(1024) });
    try {
      const { entries } = await runCompare({
        variants: buildVariants({ modes: ['aggregated', 'disaggregated'], policies: [], prefill: 1, decode: 1 }), outDir: out, signal: ctrl.signal,
        launch: (v) => Promise.resolve({ url: fake.url, model: 'fake-model', stop: () => Promise.resolve(void launched.push(v.name)) }),
        warmup: () => Promise.resolve(),
        run: async (t) => {
          const r = await runLoadTest({ url: t.url, model: t.model, workload, arrival: { kind: 'closed', concurrency: 1 } });
          ctrl.abort();
          return r;
        },
      });
      assert.deepEqual(launched, ['aggregated']);
      assert.deepEqual(entries.map((e) => e.name), ['aggregated']);
    } finally {
      await fake.close();
      await rm(out, { recursive: true, force: true });
    }
  });

  test('a failing warm-up stops the variant and fails the comparison', async () => {
    const fake = await startFakeServer({ behave: () => 'http503' });
    let stopped = false;
    try {
      await assert.rejects(
        runCompare({
          variants: buildVariants({ modes: ['aggregated', 'disaggregated'], policies: [], prefill: 1, decode: 1 }), outDir: join(tmpdir(), 'duet-compare-unused'),
          launch: () => Promise.resolve({ url: fake.url, model: 'fake-model', stop: () => Promise.resolve(void (stopped = true)) }),
          warmup: (t) => warmUp({ url: t.url, model: t.model, requests: warmupRequests(1, 8, 1, tokenRangeForVocab(1024)), retryUnavailableMs: 300 }),
          run: () => assert.fail('must not run'),
        }),
        /warm-up request warmup-0 against http:\/\/127\.0\.0\.1:\d+ failed: http_503:no_capacity/,
      );
      assert.equal(stopped, true);
    } finally {
      await fake.close();
    }
  });

  test('warm-up waits out 503s (workers still registering) within its retry window', async () => {
    const fake = await startFakeServer({ behave: (i) => (i < 2 ? 'http503' : 'ok') });
    try {
      await warmUp({ url: fake.url, model: 'fake-model', requests: warmupRequests(2, 8, 1, tokenRangeForVocab(1024)) });
      // 503, 503, ok for the first request; ok for the second
      assert.equal(fake.bodies.length, 4);
    } finally {
      await fake.close();
    }
  });
});
