/**
 * The plugin contracts of the placement pipeline (filters → producers → scorers → picker), and the
 * data they see. A decision runs one or two stages (decode, then prefill when disaggregated); each
 * stage works on `Candidate`s — live workers plus the router's own view of their load — inside one
 * `DecisionContext` that producers fill lazily and that is shared by both stages.
 *
 * Plugins are small classes built by a `PluginFactory` from validated parameters (zod); they never
 * throw during a decision and never do I/O: everything they read was gathered before the decision.
 */
import type { LoadReport, PlacementRequest } from '@duet/core';
import type { z } from 'zod';
import type { LiveWorker } from '../registry.ts';

/** The router's own in-flight accounting of one worker (structurally the accounting's WorkerLoad). */
export interface WorkerLoadView {
  prefillTokens: number;
  decodeBlocks: number;
  runningSeqs: number;
}

export const ZERO_LOAD: WorkerLoadView = Object.freeze({ prefillTokens: 0, decodeBlocks: 0, runningSeqs: 0 });

/** Per-layer expert distribution, flattened [layer][expert]; each layer sums to 1 (or is all 0). */
export interface ExpertVector {
  layers: number;
  experts: number;
  values: Float64Array;
}

/** What a decision may read about the fleet (gathered before the decision, no I/O inside). */
export interface RoutingState {
  workers: readonly LiveWorker[];
  loads: ReadonlyMap<string, WorkerLoadView>;
  /** Latest LoadReport per worker (pushed by workers), when one arrived. */
  reports: ReadonlyMap<string, LoadReport>;
  /** Leading prompt blocks each worker holds: PrefixIndex.match. */
  matchPrefix(blockHashes: readonly string[]): ReadonlyMap<string, number>;
  /** The request's predicted expert profile from a known prefix (MoE), or null. */
  predictProfile(blockHashes: readonly string[]): ExpertVector | null;
  /** A decode worker's expert pressure: expected concurrent sequences per (layer, expert), or null. */
  expertPressure(workerId: string): ExpertVector | null;
  /** A decode worker's current expert mix, normalised per layer, or null when it runs nothing known. */
  expertMix(workerId: string): ExpertVector | null;
  /** Random source for tie-breaks (seeded in tests). */
  random(): number;
}

export type StageName = 'decode' | 'prefill';

export interface Candidate {
  readonly worker: LiveWorker;
  readonly id: string;
  readonly blockSize: number;
  readonly kvBlocksTotal: number;
  readonly maxRunningSeqs: number;
  readonly load: WorkerLoadView;
  readonly report: LoadReport | undefined;
  /** Filled by the prefix-match producer: leading prompt blocks this worker holds. */
  prefixBlocks?: number;
}

export interface DecisionContext {
  readonly request: PlacementRequest;
  readonly state: RoutingState;
  readonly stage: StageName;
  /** Prompt blocks (full blocks of the prompt, as hashed by the gateway). */
  readonly promptBlocks: number;
  /** Memo shared by every plugin of one decision (both stages): producers cache here. */
  readonly memo: Map<string, unknown>;
}

export interface FilterPlugin {
  readonly type: string;
  /** Keeps the candidates that may take the request; `why` names what the filter removed. */
  filter(ctx: DecisionContext, candidates: Candidate[]): Candidate[];
}

export interface ProducerPlugin {
  readonly type: string;
  produce(ctx: DecisionContext, candidates: Candidate[]): void;
}

export interface ScorerPlugin {
  readonly type: string;
  /** Producer types this scorer reads (added to the stage automatically). */
  readonly requires: readonly string[];
  /** One score in [0,1] per candidate, same order. */
  score(ctx: DecisionContext, candidates: readonly Candidate[]): Float64Array;
}

export interface ScoredCandidate {
  candidate: Candidate;
  /** Weighted mean of the scorers, in [0,1]. */
  total: number;
  /** Per scorer type: its score in [0,1] (StageOutcome.scores holds them; see describeDecision). */
  breakdown?: Record<string, number>;
}

export interface PickerPlugin {
  readonly type: string;
  /** Producer types this picker reads. */
  readonly requires: readonly string[];
  pick(ctx: DecisionContext, scored: readonly ScoredCandidate[]): ScoredCandidate | null;
}

export type PluginKind = 'filter' | 'producer' | 'scorer' | 'picker';

export interface PluginInstanceOf {
  filter: FilterPlugin;
  producer: ProducerPlugin;
  scorer: ScorerPlugin;
  picker: PickerPlugin;
}

export interface PluginFactory<K extends PluginKind = PluginKind, P extends z.ZodType = z.ZodType> {
  readonly kind: K;
  readonly type: string;
  /** One line for docs and errors. */
  readonly summary: string;
  readonly parameters: P;
  create(params: z.output<P>): PluginInstanceOf[K];
}

/** Stage candidates from live workers: decode|both for decode, prefill-only for prefill. */
export function toCandidate(worker: LiveWorker, loads: ReadonlyMap<string, WorkerLoadView>, reports: ReadonlyMap<string, LoadReport>): Candidate {
  const cap = worker.info.capacity;
  return {
    worker,
    id: worker.info.workerId,
    blockSize: cap?.blockSize || 16,
    kvBlocksTotal: cap?.kvBlocksTotal || 0,
    maxRunningSeqs: cap?.maxRunningSeqs || 0,
    load: loads.get(worker.info.workerId) ?? ZERO_LOAD,
    report: reports.get(worker.info.workerId),
    // Declared up front, so the producer's write stays in the object (no property store per candidate).
    prefixBlocks: undefined,
  };
}
