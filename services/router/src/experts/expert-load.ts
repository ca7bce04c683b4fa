/**
 * What each decode worker's experts are busy with (MoE), from two sources:
 *  - the router's own placements: the predicted (then, at PREFILL_DONE, the measured) expert mix of
 *    every request it placed there and has not seen finish — the freshest signal;
 *  - the per-expert token counts the worker pushes in its LoadReports (an EWMA of their per-layer
 *    mix), which also covers requests other router replicas placed.
 * `mix` blends the two (the in-flight sum when the router knows of running requests, the reports
 * otherwise); `pressure` is the in-flight sum itself: expected concurrent sequences per expert.
 */
import type { ExpertVector } from '../plugins/types.ts';
import { normalizeLayers } from '../plugins/util.ts';
import { histogramToVector, type ExpertHistogramLayer } from './prefix-profiles.ts';

interface Inflight {
  workerId: string;
  profile: ExpertVector | null;
}

interface WorkerExperts {
  sum: Float64Array | null;
  layers: number;
  experts: number;
  known: number;
  reported: ExpertVector | null;
}

export class ExpertLoadTracker {
  private readonly inflight = new Map<string, Inflight>();
  private readonly workers = new Map<string, WorkerExperts>();

  /** `alpha`: EWMA weight of a new report. */
  constructor(private readonly alpha = 0.5) {}

  onPlaced(requestId: string, workerId: string, profile: ExpertVector | null): void {
    this.onFinished(requestId);
    this.inflight.set(requestId, { workerId, profile });
    if (profile) this.add(workerId, profile, +1);
  }

  /** The measured mix of a request's prompt (PREFILL_DONE) replaces its prediction. */
  onProfile(requestId: string, profile: ExpertVector): void {
    const r = this.inflight.get(requestId);
    if (!r) return;
    if (r.profile) this.add(r.workerId, r.profile, -1);
    r.profile = profile;
    this.add(r.workerId, profile, +1);
  }

  onFinished(requestId: string): void {
    const r = this.inflight.get(requestId);
    if (!r) return;
    this.inflight.delete(requestId);
    if (r.profile) this.add(r.workerId, r.profile, -1);
  }

  onReport(workerId: string, histogram: readonly ExpertHistogramLayer[]): void {
    const v = histogramToVector(histogram);
    if (!v || v.values.every((x) => x === 0)) return;
    const w = this.worker(workerId);
    const prev = w.reported;
    if (!prev || prev.values.length !== v.values.length) w.reported = v;
    else w.reported = { ...v, values: v.values.map((x, i) => this.alpha * x + (1 - this.alpha) * prev.values[i]) };
  }

  dropWorker(workerId: string): void {
    this.workers.delete(workerId);
    for (const [id, r] of this.inflight) if (r.workerId === workerId) this.inflight.delete(id);
  }

  pressure(workerId: string): ExpertVector | null {
    const w = this.workers.get(workerId);
    return w?.sum && w.known > 0 ? { layers: w.layers, experts: w.experts, values: w.sum } : null;
  }

  mix(workerId: string): ExpertVector | null {
    const w = this.workers.get(workerId);
    if (!w) return null;
    if (w.sum && w.known > 0) return normalizeLayers(w.layers, w.experts, w.sum);
    return w.reported;
  }

  get trackedRequests(): number {
    return this.inflight.size;
  }

  private worker(id: string): WorkerExperts {
    let w = this.workers.get(id);
    if (!w) this.workers.set(id, (w = { sum: null, layers: 0, experts: 0, known: 0, reported: null }));
    return w;
  }

  private add(workerId: string, p: ExpertVector, sign: 1 | -1): void {
    const w = this.worker(workerId);
    if (!w.sum || w.layers !== p.layers || w.experts !== p.experts) {
      if (sign < 0) return;
      Object.assign(w, { sum: new Float64Array(p.values.length), layers: p.layers, experts: p.experts, known: 0 });
    }
    for (let i = 0; i < p.values.length; i++) w.sum![i] = Math.max(0, w.sum![i] + sign * p.values[i]);
    w.known += sign;
  }
}
