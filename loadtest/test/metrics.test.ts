/** Metrics on hand-made timings: every number below is worked out in the comments. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketSeconds, percentile, summarize, timeline, type RequestTiming } from '../src/index.ts';

const base = { promptTokens: 0, outputTokens: 0, cachedTokens: null, error: null, tokenTimesMs: [], firstTokenMs: null };
const T: RequestTiming[] = [
  // A: TTFT 100, ITL 20 20 20, TPOT (160−100)/3 = 20, E2E 170
  { ...base, id: 'A', startMs: 0, firstTokenMs: 100, tokenTimesMs: [100, 120, 140, 160], endMs: 170, promptTokens: 100, outputTokens: 4, cachedTokens: 32 },
  // B: TTFT 300, ITL 100, TPOT 100, E2E 410
  { ...base, id: 'B', startMs: 50, firstTokenMs: 350, tokenTimesMs: [350, 450], endMs: 460, promptTokens: 60, outputTokens: 2, cachedTokens: 0 },
  // C: TTFT 100, one token (no TPOT), E2E 110, no usage reported
  { ...base, id: 'C', startMs: 100, firstTokenMs: 200, tokenTimesMs: [200], endMs: 210, promptTokens: 40, outputTokens: 1, cachedTokens: null },
  // D: refused
  { ...base, id: 'D', startMs: 200, endMs: 205, promptTokens: 10, error: 'http_503:no_capacity' },
  // E: TTFT 100, ITL 1000, TPOT 1000, E2E 1200
  { ...base, id: 'E', startMs: 300, firstTokenMs: 400, tokenTimesMs: [400, 1400], endMs: 1500, promptTokens: 20, outputTokens: 2, cachedTokens: 16 },
];
const close = (a: number | null, b: number): void => assert.ok(a !== null && Math.abs(a - b) < 1e-9, `${a} ≠ ${b}`);

describe('metrics', () => {
  test('percentiles interpolate between closest ranks', () => {
    assert.equal(percentile([], 50), null);
    assert.equal(percentile([7], 99), 7);
    close(percentile([1, 2, 3, 4], 50), 2.5);
    close(percentile([10, 20, 30, 40, 50], 90), 46);
  });

  const s = summarize(T, { ttftMs: 200, tpotMs: 150 });

  test('counts, wall time (start → last end) and errors by class', () => {
    assert.equal(s.requests, 5);
    assert.equal(s.completed, 4);
    assert.equal(s.failed, 1);
    assert.equal(s.wall_s, 1.5);
    assert.deepEqual(s.errors, { 'http_503:no_capacity': 1 });
  });

  test('TTFT, TPOT, ITL and E2E over successful requests', () => {
    // TTFT [100 100 100 300]: mean 150; p90 at rank 2.7 → 100 + 0.7·200 = 240; p99 → 294
    close(s.ttft_mean_ms, 150);
    close(s.ttft_p50_ms, 100);
    close(s.ttft_p90_ms, 240);
    close(s.ttft_p99_ms, 294);
    // TPOT [20 100 1000] (C has one token): mean 373.3; p90 at rank 1.8 → 100 + 0.8·900 = 820
    close(s.tpot_mean_ms, 1120 / 3);
    close(s.tpot_p50_ms, 100);
    close(s.tpot_p90_ms, 820);
    // ITL [20 20 20 100 1000]: mean 232; p90 at rank 3.6 → 100 + 0.6·900 = 640
    close(s.itl_mean_ms, 232);
    close(s.itl_p50_ms, 20);
    close(s.itl_p90_ms, 640);
    // E2E [110 170 410 1200]: mean 472.5; p50 at rank 1.5 → 290
    close(s.e2e_mean_ms, 472.5);
    close(s.e2e_p50_ms, 290);
  });

  test('throughput, goodput under both SLOs, and prefix hit rate', () => {
    close(s.request_throughput_rps, 4 / 1.5);
    close(s.output_token_throughput_tps, 9 / 1.5);
    close(s.input_token_throughput_tps, 220 / 1.5);
    // Meeting TTFT ≤ 200 and TPOT ≤ 150: A and C (no TPOT); B misses TTFT, E misses TPOT, D failed
    close(s.goodput_rps, 2 / 1.5);
    close(s.slo_attainment, 2 / 5);
    // Requests with usage: A, B, E → (32 + 0 + 16) / (100 + 60 + 20)
    close(s.prefix_hit_rate, 48 / 180);
    assert.equal(s.cached_tokens, 48);
  });

  test('no usage anywhere → hit rate null; nothing sent → zeros and nulls', () => {
    assert.equal(summarize([T[2]], { ttftMs: 1, tpotMs: 1 }).prefix_hit_rate, null);
    const empty = summarize([], { ttftMs: 1, tpotMs: 1 });
    assert.equal(empty.requests, 0);
    assert.equal(empty.ttft_mean_ms, null);
    assert.equal(empty.goodput_rps, 0);
  });

  test('timeline: completions and tokens by arrival time, latency by send time', () => {
    const tl = timeline(T, 0.5, 1.5);
    assert.deepEqual(tl.map((p) => p.t_s), [0, 0.5, 1]);
    // A, B, C end in [0, 0.5) s; E ends at 1.5 s (clamped into the last bucket)
    assert.deepEqual(tl.map((p) => p.requests_per_s), [6, 0, 2]);
    // tokens in [0, 0.5): A 4 + B 2 + C 1 + E 1 = 8; E's second at 1.4 s
    assert.deepEqual(tl.map((p) => p.output_tokens_per_s), [16, 0, 2]);
    assert.deepEqual(tl.map((p) => p.ttft_p50_ms), [100, null, null]);
  });

  test('bucket sizes are round (1, 2, 5 × 10ⁿ s) for about 30 buckets', () => {
    assert.equal(bucketSeconds(1.5), 0.05);
    assert.equal(bucketSeconds(60), 2);
    assert.equal(bucketSeconds(3537), 200);
  });
});
