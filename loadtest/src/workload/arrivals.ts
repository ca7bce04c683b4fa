/**
 * When each request is sent. Open loop: the trace's own timestamps divided by a speed factor, a
 * Poisson process at a rate, or bursts of B requests every I ms — requests go out on time whether
 * or not earlier ones finished. Closed loop: a fixed number of requests in flight, the next sent
 * when one ends (arrival times are then 0 and only the order counts).
 *
 * Later turns of a multi-turn session take the arrival of the session's first turn: the runner
 * sends them after the previous turn ended (plus think time), never before that arrival.
 */
import { Rng } from './rng.ts';
import { WorkloadError, type Workload, type WorkloadRequest } from './types.ts';

export type ArrivalSpec =
  | { kind: 'trace'; speed: number }
  | { kind: 'poisson'; ratePerS: number; seed?: number }
  | { kind: 'burst'; size: number; intervalMs: number }
  | { kind: 'closed'; concurrency: number };

/** One line for reports: "poisson 2 req/s", "closed loop, concurrency 4" … */
export function describeArrival(a: ArrivalSpec): string {
  switch (a.kind) {
    case 'trace':
      return `trace timestamps × ${a.speed} speed`;
    case 'poisson':
      return `Poisson, ${a.ratePerS} req/s`;
    case 'burst':
      return `bursts of ${a.size} every ${a.intervalMs} ms`;
    case 'closed':
      return `closed loop, concurrency ${a.concurrency}`;
  }
}

function check(a: ArrivalSpec, w: Workload): void {
  const bad = (what: string): never => {
    throw new WorkloadError(what);
  };
  if (a.kind === 'trace' && !w.timed) bad(`arrivals from trace timestamps need a trace workload (mooncake, azure); ${w.name} has none — use a rate, bursts or a concurrency`);
  if (a.kind === 'trace' && !(a.speed > 0)) bad(`speed must be > 0, got ${a.speed}`);
  if (a.kind === 'poisson' && !(a.ratePerS > 0)) bad(`rate must be > 0 req/s, got ${a.ratePerS}`);
  if (a.kind === 'burst' && (!Number.isInteger(a.size) || a.size < 1 || !(a.intervalMs >= 0))) bad(`bursts need a size ≥ 1 and an interval ≥ 0 ms, got ${a.size} / ${a.intervalMs}`);
  if (a.kind === 'closed' && (!Number.isInteger(a.concurrency) || a.concurrency < 1)) bad(`concurrency must be a positive integer, got ${a.concurrency}`);
}

/** First-turn (or session-less) requests in order get the spec's times; later turns inherit. */
function firstTurnTimes(a: ArrivalSpec, firsts: readonly WorkloadRequest[]): number[] {
  switch (a.kind) {
    case 'trace':
      return firsts.map((r) => r.arrivalMs / a.speed);
    case 'poisson': {
      const rng = new Rng(a.seed ?? 0, 0xa771);
      let t = 0;
      return firsts.map((_, i) => (i === 0 ? 0 : (t += rng.exponential(1000 / a.ratePerS))));
    }
    case 'burst':
      return firsts.map((_, i) => Math.floor(i / a.size) * a.intervalMs);
    case 'closed':
      return firsts.map(() => 0);
  }
}

/**
 * The workload's requests with arrival times set, in send order (stable by arrival). `limit`
 * keeps the first N after scheduling.
 */
export function scheduleArrivals(w: Workload, a: ArrivalSpec, limit?: number): WorkloadRequest[] {
  check(a, w);
  const firsts = w.requests.filter((r) => !r.session || r.session.turn === 0);
  const times = firstTurnTimes(a, firsts);
  const sessionStart = new Map<string, number>();
  const at = new Map<WorkloadRequest, number>();
  firsts.forEach((r, i) => {
    at.set(r, times[i]);
    if (r.session) sessionStart.set(r.session.id, times[i]);
  });
  const out = w.requests.map((r) => ({ ...r, arrivalMs: at.get(r) ?? sessionStart.get(r.session?.id ?? '') ?? 0 }));
  const ordered = out.map((r, i) => ({ r, i })).sort((x, y) => x.r.arrivalMs - y.r.arrivalMs || x.i - y.i).map((x) => x.r);
  return limit === undefined ? ordered : ordered.slice(0, limit);
}
