/** Hand-made routing states for plugin and pipeline tests: workers, loads, prefix matches, expert mixes. */
import { create } from '@bufbuild/protobuf';
import { PlacementRequestSchema, WorkerHeartbeatSchema, WorkerRole, WorkerState, type LoadReport, type PlacementRequest } from '@duet/core';
import { WorkerRegistry, type LiveWorker } from '../../src/registry.ts';
import type { ExpertVector, RoutingState, WorkerLoadView } from '../../src/plugins/types.ts';

export interface WorkerSpec {
  id: string;
  role?: WorkerRole;
  state?: WorkerState;
  model?: string;
  kvBlocksTotal?: number;
  maxRunningSeqs?: number;
  blockSize?: number;
}

export function workers(...specs: WorkerSpec[]): LiveWorker[] {
  const reg = new WorkerRegistry(3, () => 0);
  for (const s of specs) {
    reg.observe(
      create(WorkerHeartbeatSchema, {
        worker: { workerId: s.id, role: s.role ?? WorkerRole.DECODE, model: s.model ?? 'm', capacity: { kvBlocksTotal: s.kvBlocksTotal ?? 1000, blockSize: s.blockSize ?? 16, maxRunningSeqs: s.maxRunningSeqs ?? 16 } },
        seq: 1n,
        state: s.state ?? WorkerState.READY,
        intervalMs: 100,
      }),
    );
  }
  return reg.live();
}

export interface StateSpec {
  workers: LiveWorker[];
  loads?: Record<string, Partial<WorkerLoadView>>;
  /** workerId → leading blocks held (returned for any prompt). */
  prefix?: Record<string, number>;
  profile?: ExpertVector | null;
  mixes?: Record<string, ExpertVector>;
  pressure?: Record<string, ExpertVector>;
  reports?: Record<string, LoadReport>;
  /** Sequence of random numbers to return (cycled); default 0. */
  random?: number[];
}

export function stateOf(s: StateSpec): RoutingState {
  const loads = new Map(Object.entries(s.loads ?? {}).map(([k, v]) => [k, { prefillTokens: 0, decodeBlocks: 0, runningSeqs: 0, ...v }]));
  let r = 0;
  const rand = s.random ?? [0];
  return {
    workers: s.workers,
    loads,
    reports: new Map(Object.entries(s.reports ?? {})),
    matchPrefix: () => new Map(Object.entries(s.prefix ?? {})),
    predictProfile: () => s.profile ?? null,
    expertMix: (id) => s.mixes?.[id] ?? null,
    expertPressure: (id) => s.pressure?.[id] ?? null,
    random: () => rand[r++ % rand.length],
  };
}

export function request(init: { blocks?: number; promptTokens?: number; maxTokens?: number; exclude?: string[]; model?: string; id?: string } = {}): PlacementRequest {
  const blocks = init.blocks ?? 4;
  return create(PlacementRequestSchema, {
    requestId: init.id ?? 'r1',
    model: init.model ?? 'm',
    blockHashes: Array.from({ length: blocks }, (_, i) => `h${i}`),
    promptTokens: init.promptTokens ?? blocks * 16,
    maxTokens: init.maxTokens ?? 16,
    excludeWorkerIds: init.exclude ?? [],
  });
}

/** One layer, `values` as given (already a distribution). */
export const vec = (...values: number[]): ExpertVector => ({ layers: 1, experts: values.length, values: Float64Array.from(values) });
