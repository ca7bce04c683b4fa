/**
 * `duet loadtest compare`: one workload under several variants — placement modes (aggregated:
 * every worker does both phases; disaggregated: prefill and decode pools) and routing policies
 * (a RoutingPolicy file each). Every variant gets a freshly launched platform, which is also the
 * cache reset (no variant inherits another's KV cache), then a warm-up that shares no prefix with
 * the workload, then the measured run. Writes each variant's own report in a sub-folder and a
 * side-by-side report with overlaid charts.
 *
 * The launcher is injected (the CLI passes the local launcher), so this module starts no process.
 */
import { basename, extname, join } from 'node:path';
import type { LoadTestRun } from './loadtest.ts';
import { chartFiles } from './report/charts.ts';
import { renderCompareReport, type CompareEntry } from './report/markdown.ts';
import { writeFiles, writeRun } from './report/write.ts';
import { WorkloadError } from './workload/types.ts';

export const PLACEMENT_MODES = ['aggregated', 'disaggregated'] as const;
export type PlacementMode = (typeof PLACEMENT_MODES)[number];

export interface Variant {
  /** Folder-safe name: `aggregated`, `disaggregated`, `<policy>`, `<mode>+<policy>`. */
  name: string;
  prefill: number;
  decode: number;
  /** RoutingPolicy file the router loads, or null for the default policy. */
  policyFile: string | null;
}

export interface LaunchedTarget {
  url: string;
  model: string;
  stop(): Promise<void>;
}

export interface VariantsSpec {
  modes: readonly PlacementMode[];
  policies: readonly string[];
  /** Disaggregated pool sizes; aggregated runs prefill + decode `both` workers (equal worker count). */
  prefill: number;
  decode: number;
}

const safe = (s: string): string => s.replace(/[^A-Za-z0-9_.-]+/g, '-');

export function buildVariants(s: VariantsSpec): Variant[] {
  if (s.modes.length === 0 && s.policies.length === 0) throw new WorkloadError('compare needs at least two variants: --modes and/or --policies');
  if (s.prefill < 1 || s.decode < 1) throw new WorkloadError(`compare needs --prefill ≥ 1 and --decode ≥ 1 (the disaggregated pools), got ${s.prefill} / ${s.decode}`);
  const modes: PlacementMode[] = s.modes.length ? [...s.modes] : ['disaggregated'];
  const placement = (m: PlacementMode): Pick<Variant, 'prefill' | 'decode'> =>
    m === 'aggregated' ? { prefill: 0, decode: s.prefill + s.decode } : { prefill: s.prefill, decode: s.decode };
  const policies: Array<string | null> = s.policies.length ? [...s.policies] : [null];
  const variants = modes.flatMap((m) =>
    policies.map((p) => {
      const pname = p === null ? null : safe(basename(p, extname(p)));
      const name = pname === null ? m : modes.length > 1 ? `${m}+${pname}` : pname;
      return { name, ...placement(m), policyFile: p };
    }),
  );
  if (variants.length < 2) throw new WorkloadError('compare needs at least two variants (two modes, two policies, or both)');
  const names = new Set(variants.map((v) => v.name));
  if (names.size < variants.length) throw new WorkloadError(`two variants share a name (${variants.map((v) => v.name).join(', ')}); give policy files distinct names`);
  return variants;
}

export interface CompareOptions {
  variants: readonly Variant[];
  launch(v: Variant, logDir: string): Promise<LaunchedTarget>;
  warmup(target: LaunchedTarget, v: Variant): Promise<void>;
  run(target: LaunchedTarget, v: Variant): Promise<LoadTestRun>;
  outDir: string;
  title?: string;
  log?(line: string): void;
  /** Once aborted (Ctrl-C), no further variant starts. */
  signal?: AbortSignal;
}

export interface CompareResult {
  entries: CompareEntry[];
  files: string[];
}

async function runVariant(o: CompareOptions, v: Variant): Promise<LoadTestRun> {
  o.log?.(`compare: ${v.name}: launching (${v.prefill} prefill + ${v.decode} ${v.prefill === 0 ? 'aggregated' : 'decode'} workers${v.policyFile ? `, policy ${v.policyFile}` : ''})`);
  const target = await o.launch(v, join(o.outDir, v.name, 'logs'));
  try {
    o.log?.(`compare: ${v.name}: warming up`);
    await o.warmup(target, v);
    o.log?.(`compare: ${v.name}: running`);
    return await o.run(target, v);
  } finally {
    await target.stop();
  }
}

export async function runCompare(o: CompareOptions): Promise<CompareResult> {
  const entries: CompareEntry[] = [];
  const runs: Array<LoadTestRun & { name: string }> = [];
  const files: string[] = [];
  for (const v of o.variants) {
    if (o.signal?.aborted) break;
    const run = await runVariant(o, v);
    files.push(...(await writeRun(join(o.outDir, v.name), run.result, run.timings)));
    entries.push({ name: v.name, dir: v.name, result: run.result });
    runs.push({ ...run, name: v.name });
  }
  const summary = {
    variants: entries.map((e, i) => ({ name: e.name, prefill: o.variants[i].prefill, decode: o.variants[i].decode, policy: o.variants[i].policyFile, ...e.result, timeline: undefined })),
  };
  files.push(
    ...(await writeFiles(o.outDir, {
      'compare.json': JSON.stringify(summary, null, 2) + '\n',
      'report.md': renderCompareReport(entries, o.title ?? 'Load test comparison'),
      ...chartFiles(runs.map((r) => ({ name: r.name, timings: r.timings, timeline: r.result.timeline }))),
    })),
  );
  return { entries, files };
}
