/**
 * What a simulation replays, built from the same specs as a load test:
 *
 *   workload scale   the Workload `duet loadtest` would send (buildWorkload: Mooncake blocks scaled
 *                    to 16 tokens, Azure lengths × 1/8, synthetic workloads), hashed per KV block
 *   native scale     a trace at its own token counts (--native): Mooncake with one 512-token
 *                    block per KV block, Azure lengths as recorded
 *
 * Arrival times come from the load tester's own scheduleArrivals (trace timestamps ÷ speed,
 * Poisson, bursts, closed loop), and traces are named as in ../shared/workloads/README.md.
 */
import { readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildWorkload, type ModelShape, type WorkloadSpec } from '../workload/build.ts';
import { scheduleArrivals, type ArrivalSpec } from '../workload/arrivals.ts';
import { parseAzure } from '../workload/azure.ts';
import { parseMooncake } from '../workload/mooncake.ts';
import { WorkloadError, type Workload, type WorkloadRequest } from '../workload/types.ts';
import { azureNative, fromWorkload, hashReuseBound, mooncakeNative, type SimRequest } from './requests.ts';

/** Trace names → files under the shared workloads folder. */
export const TRACE_FILES = {
  'mooncake-conversation': 'mooncake/conversation_trace.jsonl',
  'mooncake-synthetic': 'mooncake/synthetic_trace.jsonl',
  'mooncake-arxiv': 'mooncake/mooncake_arxiv_trace_first1000.jsonl',
  'azure-code': 'azure/AzureLLMInferenceTrace_code.csv',
  'azure-conv': 'azure/AzureLLMInferenceTrace_conv.csv',
} as const;
export type TraceName = keyof typeof TRACE_FILES;

/** `$DUET_WORKLOADS_DIR`, else `../shared/workloads` next to the project root. */
export function workloadsDir(): string {
  return process.env.DUET_WORKLOADS_DIR ?? fileURLToPath(new URL('../../../../shared/workloads', import.meta.url));
}

export type TraceKind = 'mooncake' | 'azure';

/** A trace name (TRACE_FILES) or a file path → its path and kind (by name, else .jsonl / .csv). */
export function resolveTrace(nameOrPath: string): { path: string; kind: TraceKind } {
  const named = (TRACE_FILES as Record<string, string>)[nameOrPath];
  const path = named ? join(workloadsDir(), named) : nameOrPath;
  if (!existsSync(path)) {
    throw new WorkloadError(`no trace ${nameOrPath}${named ? ` (looked for ${path}; set DUET_WORKLOADS_DIR)` : ''} — trace names: ${Object.keys(TRACE_FILES).join(', ')}`);
  }
  const ext = extname(path).toLowerCase();
  const kind: TraceKind | null = nameOrPath.startsWith('mooncake') || ext === '.jsonl' ? 'mooncake' : nameOrPath.startsWith('azure') || ext === '.csv' ? 'azure' : null;
  if (!kind) throw new WorkloadError(`cannot tell the kind of trace ${path}: Mooncake traces are .jsonl, Azure traces .csv`);
  return { path, kind };
}

export interface SourceSpec {
  /** Workload-scale replay (what `duet loadtest` sends); trace paths already resolved. */
  workload?: WorkloadSpec;
  /** Native-scale replay of a trace file. */
  native?: { path: string; kind: TraceKind };
  /** Default: trace timestamps for a trace, else a closed loop of 4 (as `duet loadtest`). */
  arrival?: ArrivalSpec;
  /** Only the first N scheduled requests. */
  limit?: number;
  blockSize: number;
  shape: ModelShape;
}

export interface Source {
  requests: SimRequest[];
  workload: { name: string; description: string; params: Record<string, string | number | boolean> };
  arrival: ArrivalSpec;
  /** Share of prompt tokens an unlimited shared cache could serve (full blocks seen before). */
  bound: number;
}

async function nativeWorkload(n: { path: string; kind: TraceKind }, blockSize: number): Promise<{ stub: Workload; requests: SimRequest[] }> {
  const text = await readFile(n.path, 'utf8');
  const source = basename(n.path);
  const requests = n.kind === 'mooncake' ? mooncakeNative(parseMooncake(text, source), blockSize) : azureNative(parseAzure(text, source), blockSize);
  const stub: Workload = {
    name: n.kind,
    description: `${n.kind === 'mooncake' ? 'Mooncake' : 'Azure'} trace ${source} (${requests.length} requests) at its own token counts`,
    requests: requests.map((r): WorkloadRequest => ({ id: r.id, arrivalMs: r.arrivalMs, promptIds: [], maxTokens: r.maxTokens })),
    timed: true,
    params: { source, scale: 'native', block_size: blockSize },
  };
  return { stub, requests };
}

export async function buildSource(spec: SourceSpec): Promise<Source> {
  let workload: Workload;
  let requests: SimRequest[];
  if (spec.native) {
    ({ stub: workload, requests } = await nativeWorkload(spec.native, spec.blockSize));
  } else if (spec.workload) {
    workload = await buildWorkload(spec.workload, spec.shape);
    requests = [];
  } else {
    throw new WorkloadError('nothing to simulate: give a trace (--trace) or a workload (--workload)');
  }
  const arrival = spec.arrival ?? (workload.timed ? { kind: 'trace', speed: 1 } : { kind: 'closed', concurrency: 4 });
  const scheduled = scheduleArrivals(workload, arrival, spec.limit);
  let out: SimRequest[];
  if (spec.native) {
    const byId = new Map(requests.map((r) => [r.id, r]));
    out = scheduled.map((w) => ({ ...byId.get(w.id)!, arrivalMs: w.arrivalMs }));
  } else {
    out = fromWorkload(scheduled, spec.blockSize);
  }
  return {
    requests: out,
    workload: { name: workload.name, description: workload.description, params: workload.params },
    arrival,
    bound: hashReuseBound(out, spec.blockSize),
  };
}
