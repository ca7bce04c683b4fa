/** Reports: SVG charts (well-formed, one line per series, escaped text), Markdown, and the files of a run. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cdfPoints, chartFiles, lineChart, niceTicks, renderReport, runLoadTest, summarize, VirtualClock, writeRun, type LoadTestResult, type RequestTiming, type Workload } from '../src/index.ts';

const count = (s: string, needle: string): number => s.split(needle).length - 1;

/** Every opened element is closed (a cheap well-formedness check for the flat SVG we write). */
function balanced(svg: string): boolean {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-z]+)[^>]*?(\/?)>/g)) {
    if (m[3] === '/') continue;
    if (m[1] === '/') {
      if (stack.pop() !== m[2]) return false;
    } else stack.push(m[2]);
  }
  return stack.length === 0;
}

describe('svg', () => {
  test('round ticks covering the range', () => {
    assert.deepEqual(niceTicks(0, 93), [0, 20, 40, 60, 80, 100]);
    assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  });

  test('a chart has one polyline per series, a legend, and escaped text', () => {
    const svg = lineChart([{ name: 'a<b', points: [[0, 1], [1, 2]] }, { name: 'c', points: [[0, 0], [2, 3]], step: true }], { title: 'T & U', xLabel: 'x', yLabel: 'y' });
    assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
    assert.ok(balanced(svg));
    assert.equal(count(svg, '<polyline'), 2);
    assert.ok(svg.includes('a&lt;b') && svg.includes('T &amp; U'));
    // the step series draws 2 points + 1 corner
    const step = [...svg.matchAll(/points="([^"]*)"/g)][1][1];
    assert.equal(step.split(' ').length, 3);
  });

  test('no data says so', () => {
    assert.match(lineChart([{ name: 'a', points: [] }], { title: 't', xLabel: 'x', yLabel: 'y' }), /no data/);
  });

  test('CDF points end at 1 and are thinned to the limit', () => {
    const pts = cdfPoints(Array.from({ length: 1000 }, (_, i) => 1000 - i), 100);
    assert.ok(pts.length <= 102);
    assert.deepEqual(pts[pts.length - 1], [1000, 1]);
    assert.deepEqual(pts[0], [1, 0]);
  });
});

describe('a run written to a folder', () => {
  test('results.json holds the required fields; report.md, timings.jsonl and 4 charts sit beside it', async () => {
    const w: Workload = { name: 'hand', description: 'two requests', timed: false, params: {}, requests: [
      { id: 'a', arrivalMs: 0, promptIds: new Array<number>(32).fill(300), maxTokens: 2 },
      { id: 'b', arrivalMs: 0, promptIds: new Array<number>(32).fill(300), maxTokens: 2 },
    ] };
    const clock = new VirtualClock();
    const run = await clock.run(runLoadTest({ url: 'sim://', model: 'm', workload: w, arrival: { kind: 'closed', concurrency: 1 }, clock, send: async (r, ctx): Promise<RequestTiming> => {
      const startMs = ctx.now();
      await clock.sleep(100);
      const first = ctx.now();
      await clock.sleep(10);
      return { id: r.id, startMs, firstTokenMs: first, tokenTimesMs: [first, ctx.now()], endMs: ctx.now(), promptTokens: 32, outputTokens: 2, cachedTokens: r.id === 'b' ? 32 : 0, error: null };
    } }));
    const dir = await mkdtemp(join(tmpdir(), 'duet-report-'));
    try {
      await writeRun(dir, run.result, run.timings);
      assert.deepEqual((await readdir(dir)).sort(), ['latency.svg', 'report.md', 'results.json', 'throughput.svg', 'timings.jsonl', 'tpot-cdf.svg', 'ttft-cdf.svg']);
      const r = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as LoadTestResult;
      for (const k of ['requests', 'wall_s', 'ttft_mean_ms', 'ttft_p90_ms', 'tpot_mean_ms', 'goodput_rps', 'prefix_hit_rate'] as const) assert.ok(k in r, k);
      // a: 0–110, b: 110–220 → wall 0.22 s, TTFT 100, TPOT 10, hit rate 32/64, bound 32/64
      assert.equal(r.requests, 2);
      assert.ok(Math.abs(r.wall_s - 0.22) < 1e-9);
      assert.equal(r.ttft_mean_ms, 100);
      assert.equal(r.tpot_mean_ms, 10);
      assert.equal(r.prefix_hit_rate, 0.5);
      assert.equal(r.prefix_hit_rate_upper_bound, 0.5);
      assert.equal(r.arrival, 'closed loop, concurrency 1');
      const md = await readFile(join(dir, 'report.md'), 'utf8');
      assert.match(md, /\| TTFT \(time to first token\) \| 100\.0 \| 100\.0 \|/);
      assert.match(md, /!\[TTFT CDF\]\(ttft-cdf\.svg\)/);
      assert.equal((await readFile(join(dir, 'timings.jsonl'), 'utf8')).trim().split('\n').length, 2);
      for (const svg of Object.values(chartFiles([{ name: 'x', timings: run.timings, timeline: run.result.timeline }]))) assert.ok(balanced(svg));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the report lists errors by class, most frequent first', () => {
    const failed = (error: string): RequestTiming => ({ id: error, startMs: 0, firstTokenMs: null, tokenTimesMs: [], endMs: 5, promptTokens: 1, outputTokens: 0, cachedTokens: null, error });
    const summary = summarize([failed('timeout'), failed('http_503:no_capacity'), failed('http_503:no_capacity')], { ttftMs: 1, tpotMs: 1 });
    const result: LoadTestResult = {
      ...summary, target: { url: 'u', model: 'm' }, workload: { name: 'w', description: 'd', params: {} }, arrival: 'a',
      prefix_hit_rate_upper_bound: 0, block_size: 16, started_at: '', bucket_s: 1, timeline: [],
    };
    const md = renderReport(result);
    assert.match(md, /\| `http_503:no_capacity` \| 2 \|\n\| `timeout` \| 1 \|/);
    assert.match(md, /requests: 3 sent, 0 completed, 3 failed/);
  });
});
