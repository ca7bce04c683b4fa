/**
 * Metrics from per-request timings (pure; shared by the load tester and the simulator).
 *
 *   TTFT  first token − sent                      (successful requests)
 *   ITL   gap between consecutive streamed chunks (every gap of every successful request)
 *   TPOT  (last token − first token) / (output tokens − 1), requests with ≥ 2 output tokens
 *   E2E   end − sent
 *
 * Percentiles interpolate linearly between the closest ranks (numpy's default). Throughputs and
 * goodput divide by the wall time: from the start of the run to the last request's end. Goodput
 * counts successful requests with TTFT ≤ the TTFT SLO and TPOT ≤ the TPOT SLO (a one-token answer
 * has no TPOT and meets that SLO). Prefix hit rate = Σ cached prompt tokens / Σ prompt tokens over
 * successful requests whose server reported usage.
 */
import type { RequestTiming } from './run/timing.ts';

export interface Slo {
  ttftMs: number;
  tpotMs: number;
}

export interface Stats {
  mean: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

/** p in [0, 100] of ascending `sorted`; null when empty. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

export function stats(values: readonly number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : null;
  return { mean, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99) };
}

export const ok = (t: RequestTiming): boolean => t.error === null;
export const ttftOf = (t: RequestTiming): number | null => (t.firstTokenMs === null ? null : t.firstTokenMs - t.startMs);

export function tpotOf(t: RequestTiming): number | null {
  if (t.outputTokens < 2 || t.firstTokenMs === null || t.tokenTimesMs.length === 0) return null;
  return (t.tokenTimesMs[t.tokenTimesMs.length - 1] - t.firstTokenMs) / (t.outputTokens - 1);
}

export function itlsOf(t: RequestTiming): number[] {
  return t.tokenTimesMs.slice(1).map((at, i) => at - t.tokenTimesMs[i]);
}

export function meetsSlo(t: RequestTiming, slo: Slo): boolean {
  const ttft = ttftOf(t);
  const tpot = tpotOf(t);
  return ok(t) && ttft !== null && ttft <= slo.ttftMs && (tpot === null || tpot <= slo.tpotMs);
}

const defined = (xs: Array<number | null>): number[] => xs.filter((x): x is number => x !== null);

export interface MetricSummary {
  requests: number;
  completed: number;
  failed: number;
  wall_s: number;
  ttft_mean_ms: number | null;
  ttft_p50_ms: number | null;
  ttft_p90_ms: number | null;
  ttft_p99_ms: number | null;
  tpot_mean_ms: number | null;
  tpot_p50_ms: number | null;
  tpot_p90_ms: number | null;
  tpot_p99_ms: number | null;
  itl_mean_ms: number | null;
  itl_p50_ms: number | null;
  itl_p90_ms: number | null;
  itl_p99_ms: number | null;
  e2e_mean_ms: number | null;
  e2e_p50_ms: number | null;
  e2e_p90_ms: number | null;
  e2e_p99_ms: number | null;
  request_throughput_rps: number;
  output_token_throughput_tps: number;
  input_token_throughput_tps: number;
  goodput_rps: number;
  /** Requests meeting both SLOs / requests sent. */
  slo_attainment: number;
  slo_ttft_ms: number;
  slo_tpot_ms: number;
  prompt_tokens: number;
  output_tokens: number;
  cached_tokens: number;
  prefix_hit_rate: number | null;
  errors: Record<string, number>;
}

/** `wallMs` defaults to the latest end time. */
export function summarize(timings: readonly RequestTiming[], slo: Slo, wallMs?: number): MetricSummary {
  const good = timings.filter(ok);
  const wall = (wallMs ?? timings.reduce((m, t) => Math.max(m, t.endMs), 0)) / 1000;
  const per = (n: number): number => (wall > 0 ? n / wall : 0);
  const withUsage = good.filter((t) => t.cachedTokens !== null);
  const promptUsage = withUsage.reduce((s, t) => s + t.promptTokens, 0);
  const cached = withUsage.reduce((s, t) => s + (t.cachedTokens ?? 0), 0);
  const errors: Record<string, number> = {};
  for (const t of timings) if (t.error !== null) errors[t.error] = (errors[t.error] ?? 0) + 1;
  const meeting = timings.filter((t) => meetsSlo(t, slo)).length;
  const outputTokens = good.reduce((s, t) => s + t.outputTokens, 0);
  const promptTokens = good.reduce((s, t) => s + t.promptTokens, 0);
  const ttft = stats(defined(good.map(ttftOf)));
  const tpot = stats(defined(good.map(tpotOf)));
  const itl = stats(good.flatMap(itlsOf));
  const e2e = stats(good.map((t) => t.endMs - t.startMs));
  return {
    requests: timings.length,
    completed: good.length,
    failed: timings.length - good.length,
    wall_s: wall,
    ttft_mean_ms: ttft.mean, ttft_p50_ms: ttft.p50, ttft_p90_ms: ttft.p90, ttft_p99_ms: ttft.p99,
    tpot_mean_ms: tpot.mean, tpot_p50_ms: tpot.p50, tpot_p90_ms: tpot.p90, tpot_p99_ms: tpot.p99,
    itl_mean_ms: itl.mean, itl_p50_ms: itl.p50, itl_p90_ms: itl.p90, itl_p99_ms: itl.p99,
    e2e_mean_ms: e2e.mean, e2e_p50_ms: e2e.p50, e2e_p90_ms: e2e.p90, e2e_p99_ms: e2e.p99,
    request_throughput_rps: per(good.length),
    output_token_throughput_tps: per(outputTokens),
    input_token_throughput_tps: per(promptTokens),
    goodput_rps: per(meeting),
    slo_attainment: timings.length ? meeting / timings.length : 0,
    slo_ttft_ms: slo.ttftMs,
    slo_tpot_ms: slo.tpotMs,
    prompt_tokens: promptTokens,
    output_tokens: outputTokens,
    cached_tokens: cached,
    prefix_hit_rate: promptUsage > 0 ? cached / promptUsage : null,
    errors,
  };
}

export interface TimelinePoint {
  t_s: number;
  /** Requests that ended in the bucket, per second. */
  requests_per_s: number;
  /** Output tokens that arrived in the bucket, per second (a chunk's share of its request's tokens). */
  output_tokens_per_s: number;
  /** Median TTFT and E2E of requests sent in the bucket. */
  ttft_p50_ms: number | null;
  e2e_p50_ms: number | null;
}

/** A round step (1, 2 or 5 × 10ⁿ seconds) giving about `target` buckets. */
export function bucketSeconds(wallS: number, target = 30): number {
  const raw = Math.max(wallS / target, 0.001);
  const pow = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw)!;
}

export function timeline(timings: readonly RequestTiming[], bucketS: number, wallS: number): TimelinePoint[] {
  const n = Math.max(1, Math.ceil(wallS / bucketS));
  const idx = (ms: number): number => Math.min(n - 1, Math.max(0, Math.floor(ms / 1000 / bucketS)));
  const ends = new Array<number>(n).fill(0);
  const tokens = new Array<number>(n).fill(0);
  const ttft: number[][] = Array.from({ length: n }, () => []);
  const e2e: number[][] = Array.from({ length: n }, () => []);
  for (const t of timings.filter(ok)) {
    ends[idx(t.endMs)]++;
    const share = t.tokenTimesMs.length ? t.outputTokens / t.tokenTimesMs.length : 0;
    for (const at of t.tokenTimesMs) tokens[idx(at)] += share;
    const f = ttftOf(t);
    if (f !== null) ttft[idx(t.startMs)].push(f);
    e2e[idx(t.startMs)].push(t.endMs - t.startMs);
  }
  return Array.from({ length: n }, (_, i) => ({
    t_s: i * bucketS,
    requests_per_s: ends[i] / bucketS,
    output_tokens_per_s: tokens[i] / bucketS,
    ttft_p50_ms: stats(ttft[i]).p50,
    e2e_p50_ms: stats(e2e[i]).p50,
  }));
}
