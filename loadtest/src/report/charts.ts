/**
 * The report's charts: TTFT and TPOT CDFs, throughput over time and latency over time. Each takes
 * one or more named runs, so the comparison report overlays variants on the same axes.
 */
import { ok, tpotOf, ttftOf, type TimelinePoint } from '../metrics.ts';
import type { RequestTiming } from '../run/timing.ts';
import { lineChart, type Series } from './svg.ts';

export interface NamedRun {
  name: string;
  timings: readonly RequestTiming[];
  timeline: readonly TimelinePoint[];
}

/** Empirical CDF as at most `maxPoints` (value, fraction ≤ value) steps. */
export function cdfPoints(values: readonly number[], maxPoints = 400): Array<[number, number]> {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return [];
  const stride = Math.max(1, Math.ceil(s.length / maxPoints));
  const pts: Array<[number, number]> = [[s[0], 0]];
  for (let i = stride - 1; i < s.length; i += stride) pts.push([s[i], (i + 1) / s.length]);
  if (pts[pts.length - 1][1] < 1) pts.push([s[s.length - 1], 1]);
  return pts;
}

const defined = (xs: Array<number | null>): number[] => xs.filter((x): x is number => x !== null);

export function ttftCdf(runs: readonly NamedRun[]): string {
  const series = runs.map((r) => ({ name: r.name, step: true, points: cdfPoints(defined(r.timings.filter(ok).map(ttftOf))) }));
  return lineChart(series, { title: 'TTFT (CDF)', xLabel: 'time to first token (ms)', yLabel: 'fraction of requests', yMax: 1 });
}

export function tpotCdf(runs: readonly NamedRun[]): string {
  const series = runs.map((r) => ({ name: r.name, step: true, points: cdfPoints(defined(r.timings.filter(ok).map(tpotOf))) }));
  return lineChart(series, { title: 'TPOT (CDF)', xLabel: 'time per output token (ms)', yLabel: 'fraction of requests', yMax: 1 });
}

export function throughputOverTime(runs: readonly NamedRun[]): string {
  const series: Series[] = runs.map((r) => ({ name: r.name, points: r.timeline.map((p) => [p.t_s, p.output_tokens_per_s] as const) }));
  return lineChart(series, { title: 'Output token throughput over time', xLabel: 'time since start (s)', yLabel: 'tokens / s' });
}

export function latencyOverTime(runs: readonly NamedRun[]): string {
  const series: Series[] = runs.flatMap((r) => {
    const pre = runs.length > 1 ? `${r.name} ` : '';
    const pick = (key: 'ttft_p50_ms' | 'e2e_p50_ms'): Array<readonly [number, number]> =>
      r.timeline.flatMap((p) => (p[key] === null ? [] : [[p.t_s, p[key]] as const]));
    return [
      { name: `${pre}TTFT p50`, points: pick('ttft_p50_ms') },
      { name: `${pre}E2E p50`, points: pick('e2e_p50_ms') },
    ];
  });
  return lineChart(series, { title: 'Latency over time (by send time)', xLabel: 'time since start (s)', yLabel: 'ms' });
}

/** File name → SVG text, as written next to the report. */
export function chartFiles(runs: readonly NamedRun[]): Record<string, string> {
  return {
    'ttft-cdf.svg': ttftCdf(runs),
    'tpot-cdf.svg': tpotCdf(runs),
    'throughput.svg': throughputOverTime(runs),
    'latency.svg': latencyOverTime(runs),
  };
}
