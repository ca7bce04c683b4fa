/** Markdown reports: one run (report.md next to results.json) and a side-by-side comparison. */
import type { LoadTestResult } from '../result.ts';
import { formatNumber } from './svg.ts';

/** The four SVG charts every report folder holds (svg.ts), as Markdown lines. */
const CHARTS = [
  '![TTFT CDF](ttft-cdf.svg) ![TPOT CDF](tpot-cdf.svg)',
  '',
  '![throughput over time](throughput.svg) ![latency over time](latency.svg)',
  '',
];

const fmt = (v: number | null, digits = 1): string => (v === null ? '–' : v.toFixed(digits));
const pct = (v: number | null): string => (v === null ? '–' : `${(100 * v).toFixed(1)} %`);

function latencyTable(r: LoadTestResult): string[] {
  const row = (name: string, k: 'ttft' | 'tpot' | 'itl' | 'e2e'): string =>
    `| ${name} | ${fmt(r[`${k}_mean_ms`])} | ${fmt(r[`${k}_p50_ms`])} | ${fmt(r[`${k}_p90_ms`])} | ${fmt(r[`${k}_p99_ms`])} |`;
  return [
    '| latency (ms) | mean | p50 | p90 | p99 |',
    '|---|---|---|---|---|',
    row('TTFT (time to first token)', 'ttft'),
    row('TPOT (time per output token)', 'tpot'),
    row('ITL (inter-token latency)', 'itl'),
    row('E2E (end to end)', 'e2e'),
  ];
}

function errorLines(errors: Record<string, number>): string[] {
  const entries = Object.entries(errors).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return ['No errors.'];
  return ['| error class | requests |', '|---|---|', ...entries.map(([k, n]) => `| \`${k}\` | ${n} |`)];
}

export function renderReport(r: LoadTestResult): string {
  return [
    `# Load test: ${r.workload.name}`,
    '',
    `- target: ${r.target.url} (model \`${r.target.model}\`)`,
    `- workload: ${r.workload.description}`,
    `- arrivals: ${r.arrival}`,
    `- started: ${r.started_at}; wall time ${r.wall_s.toFixed(1)} s`,
    `- requests: ${r.requests} sent, ${r.completed} completed, ${r.failed} failed`,
    '',
    ...latencyTable(r),
    '',
    '| throughput | value |',
    '|---|---|',
    `| requests / s | ${fmt(r.request_throughput_rps, 2)} |`,
    `| output tokens / s | ${fmt(r.output_token_throughput_tps, 1)} |`,
    `| input tokens / s | ${fmt(r.input_token_throughput_tps, 1)} |`,
    `| goodput (req/s with TTFT ≤ ${formatNumber(r.slo_ttft_ms)} ms and TPOT ≤ ${formatNumber(r.slo_tpot_ms)} ms) | ${fmt(r.goodput_rps, 2)} |`,
    `| SLO attainment | ${pct(r.slo_attainment)} |`,
    `| prefix hit rate (cached / prompt tokens) | ${pct(r.prefix_hit_rate)} |`,
    `| prefix hit rate upper bound (unlimited shared cache, empty at start, ${r.block_size}-token blocks) | ${pct(r.prefix_hit_rate_upper_bound)} |`,
    '',
    '## Errors',
    '',
    ...errorLines(r.errors),
    '',
    '## Charts',
    '',
    ...CHARTS,
  ].join('\n');
}

export interface CompareEntry {
  name: string;
  /** Folder of the variant's own report, relative to the comparison report. */
  dir: string;
  result: LoadTestResult;
}

const ROWS: Array<[string, (r: LoadTestResult) => string]> = [
  ['completed / sent', (r) => `${r.completed} / ${r.requests}`],
  ['TTFT mean (ms)', (r) => fmt(r.ttft_mean_ms)],
  ['TTFT p90 (ms)', (r) => fmt(r.ttft_p90_ms)],
  ['TTFT p99 (ms)', (r) => fmt(r.ttft_p99_ms)],
  ['TPOT mean (ms)', (r) => fmt(r.tpot_mean_ms)],
  ['TPOT p90 (ms)', (r) => fmt(r.tpot_p90_ms)],
  ['ITL p50 (ms)', (r) => fmt(r.itl_p50_ms)],
  ['E2E p50 (ms)', (r) => fmt(r.e2e_p50_ms)],
  ['E2E p99 (ms)', (r) => fmt(r.e2e_p99_ms)],
  ['requests / s', (r) => fmt(r.request_throughput_rps, 2)],
  ['output tokens / s', (r) => fmt(r.output_token_throughput_tps)],
  ['goodput (req/s)', (r) => fmt(r.goodput_rps, 2)],
  ['SLO attainment', (r) => pct(r.slo_attainment)],
  ['prefix hit rate', (r) => pct(r.prefix_hit_rate)],
  ['errors', (r) => (r.failed === 0 ? '0' : Object.entries(r.errors).map(([k, n]) => `${k} ${n}`).join(', '))],
];

export function renderCompareReport(entries: readonly CompareEntry[], title: string): string {
  const first = entries[0]?.result;
  return [
    `# ${title}`,
    '',
    ...(first
      ? [`- workload: ${first.workload.description}`, `- arrivals: ${first.arrival}`, `- SLOs: TTFT ≤ ${formatNumber(first.slo_ttft_ms)} ms, TPOT ≤ ${formatNumber(first.slo_tpot_ms)} ms`, `- prefix hit rate upper bound: ${pct(first.prefix_hit_rate_upper_bound)}`, '']
      : []),
    `| metric | ${entries.map((e) => `[${e.name}](${e.dir}/report.md)`).join(' | ')} |`,
    `|---|${entries.map(() => '---').join('|')}|`,
    ...ROWS.map(([name, f]) => `| ${name} | ${entries.map((e) => f(e.result)).join(' | ')} |`),
    '',
    ...CHARTS,
  ].join('\n');
}
