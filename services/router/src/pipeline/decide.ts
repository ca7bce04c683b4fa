/**
 * One placement decision, a pure function of (compiled policy, request, routing state):
 *
 *   1. decode stage over decode|both workers — the request's KV lives there, so it is chosen first;
 *   2. conditional disaggregation: prefill locally on the decode worker when the policy says
 *      `never`, when no prefill worker exists or passes the prefill filters, or (mode `auto`) when
 *      the prompt's uncached part on that decode worker is below `localPrefillThresholdTokens`;
 *   3. otherwise the prefill stage over prefill-only workers.
 *
 * The result carries the reservation the router records in its accounting: uncached prompt tokens
 * on whoever prefills, and the request's new KV blocks on the decode worker.
 */
import type { PlacementRequest } from '@duet/core';
import type { CompiledPolicy } from '../policy/compile.ts';
import type { PlacementResponseInit } from '../placer.ts';
import { prefixMatch } from '../plugins/producers/prefix-match/index.ts';
import { toCandidate, type Candidate, type DecisionContext, type RoutingState, type StageName } from '../plugins/types.ts';
import { canDecode, isPrefillOnly, type LiveWorker } from '../registry.ts';
import { runStage, type StageOutcome } from './stage.ts';

export interface PlannedReservation {
  requestId: string;
  prefillWorkerId?: string;
  prefillTokens: number;
  decodeWorkerId: string;
  decodeBlocks: number;
}

export interface Decision {
  response: PlacementResponseInit;
  /** Null when nothing was placed. */
  reservation: PlannedReservation | null;
  decode: StageOutcome | null;
  prefill: StageOutcome | null;
  /** What producers computed for this decision (e.g. 'expert-profile'), keyed by producer type. */
  memo: ReadonlyMap<string, unknown>;
}

function context(req: PlacementRequest, state: RoutingState, stage: StageName, memo: Map<string, unknown>): DecisionContext {
  return { request: req, state, stage, promptBlocks: req.blockHashes.length, memo };
}

function candidates(state: RoutingState, pick: (w: LiveWorker) => boolean): Candidate[] {
  const out: Candidate[] = [];
  for (const w of state.workers) if (pick(w)) out.push(toCandidate(w, state.loads, state.reports));
  return out;
}

function noCapacity(reason: string, decode: StageOutcome | null, memo: ReadonlyMap<string, unknown>): Decision {
  return { response: { result: { case: 'noCapacity', value: { reason, retryAfterMs: 250 } } }, reservation: null, decode, prefill: null, memo };
}

function filteredOut(o: StageOutcome): string {
  return o.removed.map((r) => `${r.filter} removed ${r.workers.join(',')}`).join('; ');
}

const fmt = (x: number): string => x.toFixed(3);

/** Why local: null means "go disaggregated". */
function localPrefillReason(policy: CompiledPolicy, uncachedTokens: number, prefillers: number): string | null {
  const d = policy.disaggregation;
  if (d.mode === 'never') return 'aggregated (disaggregation: never)';
  if (prefillers === 0) return 'no prefill worker';
  if (d.mode === 'auto' && uncachedTokens < d.localPrefillThresholdTokens) return `local prefill: ${uncachedTokens} uncached tokens < ${d.localPrefillThresholdTokens}`;
  return null;
}

export function decide(policy: CompiledPolicy, req: PlacementRequest, state: RoutingState): Decision {
  const memo = new Map<string, unknown>();
  const decodeCtx = context(req, state, 'decode', memo);
  const decode = runStage(policy.decode, decodeCtx, candidates(state, canDecode));
  if (!decode.chosen) {
    const why = decode.considered === 0 ? `no live decode worker${req.model ? ` for model ${req.model}` : ''}` : `no decode worker passed the filters (${filteredOut(decode)})`;
    return noCapacity(why, decode, memo);
  }
  const d = decode.chosen.candidate;
  const decodePrefix = prefixMatch(decodeCtx).get(d.id) ?? 0;
  const decodeCached = Math.min(req.promptTokens, decodePrefix * d.blockSize);
  const decodeBlocks = Math.max(0, Math.ceil((req.promptTokens + req.maxTokens) / d.blockSize) - decodePrefix);
  const decodeWhy = `${policy.name}: decode ${d.id} (${fmt(decode.chosen.total)})`;
  const prefillers = candidates(state, isPrefillOnly);
  const local = localPrefillReason(policy, req.promptTokens - decodeCached, prefillers.length);
  const prefill = local ? null : runStage(policy.prefill, context(req, state, 'prefill', memo), prefillers);
  if (!prefill?.chosen) {
    const why = local ?? `local prefill: no prefill worker passed the filters (${filteredOut(prefill!)})`;
    return {
      response: { result: { case: 'placed', value: { decodeWorkerId: d.id, reason: `${decodeWhy}; ${why}`, expectedCachedTokens: decodeCached } } },
      reservation: { requestId: req.requestId, prefillWorkerId: d.id, prefillTokens: req.promptTokens - decodeCached, decodeWorkerId: d.id, decodeBlocks },
      decode,
      prefill,
      memo,
    };
  }
  const p = prefill.chosen.candidate;
  const prefillCached = Math.min(req.promptTokens, (prefixMatch(decodeCtx).get(p.id) ?? 0) * p.blockSize);
  return {
    response: {
      result: {
        case: 'placed',
        value: { prefillWorkerId: p.id, decodeWorkerId: d.id, reason: `${decodeWhy}, prefill ${p.id} (${fmt(prefill.chosen.total)})`, expectedCachedTokens: decodeCached },
      },
    },
    reservation: { requestId: req.requestId, prefillWorkerId: p.id, prefillTokens: req.promptTokens - prefillCached, decodeWorkerId: d.id, decodeBlocks },
    decode,
    prefill,
    memo,
  };
}

/** The decision's score breakdown, for the debug log: per stage, every candidate with its scores. */
export function describeDecision(decision: Decision): Record<string, unknown> {
  const stage = (o: StageOutcome | null) =>
    o && {
      chosen: o.chosen?.candidate.id ?? null,
      removed: o.removed.map((r) => ({ filter: r.filter, workers: r.workers })),
      candidates: o.scored.map((s, i) => ({ worker: s.candidate.id, total: Number(fmt(s.total)), ...Object.fromEntries(o.scores.map((x) => [x.type, x.values[i]])) })),
    };
  return { decode: stage(decision.decode), prefill: stage(decision.prefill) };
}
