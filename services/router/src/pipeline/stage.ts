/**
 * One placement stage: filters (in order) → producers → scorers (weighted mean, each in [0,1]) →
 * picker. Returns the chosen candidate and everything a decision log needs: what each filter
 * removed and every surviving candidate's score breakdown.
 */
import type { CompiledStage } from '../policy/compile.ts';
import type { Candidate, DecisionContext, ScoredCandidate, StageName } from '../plugins/types.ts';

export interface StageOutcome {
  stage: StageName;
  chosen: ScoredCandidate | null;
  scored: ScoredCandidate[];
  /** Each scorer's scores, in the order of `scored` (the decision log reads them). */
  scores: Array<{ type: string; values: Float64Array }>;
  /** Per filter that removed someone: which workers (worked out when read: the decision log's). */
  removed: Array<{ readonly filter: string; readonly workers: string[] }>;
  /** Candidates before filtering. */
  considered: number;
}

/** What one filter removed, listed only when read (most decisions are never logged). */
class Removal {
  constructor(
    readonly filter: string,
    private readonly before: readonly Candidate[],
    private readonly kept: readonly Candidate[],
  ) {}

  get workers(): string[] {
    const keep = new Set(this.kept);
    return this.before.filter((c) => !keep.has(c)).map((c) => c.id);
  }

  toJSON(): { filter: string; workers: string[] } {
    return { filter: this.filter, workers: this.workers };
  }
}

function applyFilters(stage: CompiledStage, ctx: DecisionContext, candidates: Candidate[], removed: StageOutcome['removed']): Candidate[] {
  let left = candidates;
  for (const f of stage.filters) {
    const kept = f.filter(ctx, left);
    if (kept.length !== left.length) removed.push(new Removal(f.type, left, kept));
    left = kept;
    if (left.length === 0) break;
  }
  return left;
}

/** Weighted mean per candidate; no per-candidate breakdown objects (the hot path allocates little). */
function score(stage: CompiledStage, ctx: DecisionContext, candidates: Candidate[]): { scored: ScoredCandidate[]; scores: StageOutcome['scores'] } {
  const totalWeight = stage.scorers.reduce((a, s) => a + s.weight, 0);
  const scored: ScoredCandidate[] = candidates.map((candidate) => ({ candidate, total: 0 }));
  const scores: StageOutcome['scores'] = [];
  for (const { plugin, weight } of stage.scorers) {
    const values = plugin.score(ctx, candidates);
    for (let i = 0; i < scored.length; i++) {
      const v = Number.isFinite(values[i]) ? Math.min(1, Math.max(0, values[i])) : 0;
      values[i] = v;
      if (totalWeight > 0) scored[i].total += (weight * v) / totalWeight;
    }
    scores.push({ type: plugin.type, values });
  }
  return { scored, scores };
}

export function runStage(stage: CompiledStage, ctx: DecisionContext, candidates: Candidate[]): StageOutcome {
  const removed: StageOutcome['removed'] = [];
  const left = applyFilters(stage, ctx, candidates, removed);
  if (left.length === 0) return { stage: ctx.stage, chosen: null, scored: [], scores: [], removed, considered: candidates.length };
  for (const p of stage.producers) p.produce(ctx, left);
  const { scored, scores } = score(stage, ctx, left);
  return { stage: ctx.stage, chosen: stage.picker.pick(ctx, scored), scored, scores, removed, considered: candidates.length };
}
