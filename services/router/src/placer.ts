/**
 * Placement behind one interface, so the scoring router of the next issue (prefix, load, expert
 * affinity) drops in: `place(request, liveWorkers)` returns a PlacementResponse and never throws —
 * no candidate is a typed NoCapacity.
 *
 * RoundRobinPlacer: candidates are live workers serving the request's model, not draining, not
 * excluded. Decode side: decode|both workers, in id order, a rotating cursor. Prefill side:
 * prefill-only workers, their own cursor; none → decode-only placement ("no prefill worker").
 */
import { WorkerState, type PlacementRequest, type PlacementResponseSchema } from '@duet/core';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { canDecode, isPrefillOnly, type LiveWorker } from './registry.ts';

export type PlacementResponseInit = MessageInitShape<typeof PlacementResponseSchema>;

export interface Placer {
  /** Never throws; an empty candidate list is `noCapacity`. */
  place(req: PlacementRequest, workers: readonly LiveWorker[]): PlacementResponseInit;
}

/** Workers that may take `req` at all. */
export function eligible(req: PlacementRequest, workers: readonly LiveWorker[]): LiveWorker[] {
  const excluded = new Set(req.excludeWorkerIds);
  return workers.filter((w) => w.state === WorkerState.READY && !excluded.has(w.info.workerId) && (!req.model || w.info.model === req.model));
}

export class RoundRobinPlacer implements Placer {
  private decodeCursor = 0;
  private prefillCursor = 0;

  place(req: PlacementRequest, workers: readonly LiveWorker[]): PlacementResponseInit {
    const candidates = eligible(req, workers);
    const decoders = candidates.filter(canDecode);
    if (decoders.length === 0) {
      const why = req.model ? `no live decode worker for model ${req.model}` : 'no live decode worker';
      return { result: { case: 'noCapacity', value: { reason: why, retryAfterMs: 1000 } } };
    }
    const decode = decoders[this.decodeCursor++ % decoders.length];
    const prefillers = candidates.filter(isPrefillOnly);
    if (prefillers.length === 0) {
      return { result: { case: 'placed', value: { decodeWorkerId: decode.info.workerId, reason: 'no prefill worker' } } };
    }
    const prefill = prefillers[this.prefillCursor++ % prefillers.length];
    return { result: { case: 'placed', value: { prefillWorkerId: prefill.info.workerId, decodeWorkerId: decode.info.workerId, reason: 'round-robin' } } };
  }
}
