/**
 * Sends scheduled requests and collects their timings.
 *
 * Open loop: each request goes out at its arrival time (ms from the start), whatever is still in
 * flight. Closed loop: `concurrency` lanes; each lane takes the next request in order when its
 * last one ended. In both, a turn of a session is sent only after the session's previous turn
 * ended and its think time passed (a closed-loop lane waits for it, holding its slot).
 *
 * Stopping: after `durationMs` (or when `signal` aborts) no new request starts; requests in flight
 * finish (the abort signal is passed to `send`, which cancels them).
 */
import type { WorkloadRequest } from '../workload/types.ts';
import type { Clock } from './clock.ts';
import type { RequestTiming } from './timing.ts';

export interface SendContext {
  /** ms since the start of the run. */
  now(): number;
  signal: AbortSignal;
}

/** Sends one request and resolves with its timing; never rejects (failures are timings with an error). */
export type SendFn = (req: WorkloadRequest, ctx: SendContext) => Promise<RequestTiming>;

export interface RunnerOptions {
  requests: readonly WorkloadRequest[];
  /** null: open loop at the arrival times; n: closed loop with n in flight. */
  concurrency: number | null;
  send: SendFn;
  clock: Clock;
  durationMs?: number;
  signal?: AbortSignal;
  onStart?(req: WorkloadRequest): void;
  onDone?(t: RequestTiming): void;
}

class SessionGate {
  private readonly ends = new Map<string, Promise<number>>();
  private readonly marks = new Map<string, (endMs: number) => void>();

  /** Registers the request (so its successor can wait for it) and returns when it may start. */
  async waitFor(req: WorkloadRequest, clock: Clock, now: () => number): Promise<void> {
    if (!req.session) return;
    const { id, turn, thinkMs } = req.session;
    const prev = this.ends.get(`${id}#${turn - 1}`);
    this.ends.set(`${id}#${turn}`, new Promise((resolve) => this.marks.set(`${id}#${turn}`, resolve)));
    if (turn === 0 || !prev) return;
    const prevEnd = await prev;
    await clock.sleep(prevEnd + thinkMs - now());
  }

  done(req: WorkloadRequest, endMs: number): void {
    if (req.session) this.marks.get(`${req.session.id}#${req.session.turn}`)?.(endMs);
  }
}

export async function runRequests(o: RunnerOptions): Promise<RequestTiming[]> {
  const t0 = o.clock.now();
  const now = (): number => o.clock.now() - t0;
  const signal = o.signal ?? new AbortController().signal;
  const gate = new SessionGate();
  const timings: RequestTiming[] = [];
  const stopped = (): boolean => signal.aborted || (o.durationMs !== undefined && now() >= o.durationMs);

  const one = async (req: WorkloadRequest): Promise<void> => {
    await gate.waitFor(req, o.clock, now);
    if (stopped()) {
      gate.done(req, now());
      return;
    }
    o.onStart?.(req);
    const t = await o.send(req, { now, signal });
    timings.push(t);
    gate.done(req, t.endMs);
    o.onDone?.(t);
  };

  if (o.concurrency === null) {
    const inFlight: Promise<void>[] = [];
    for (const req of o.requests) {
      await o.clock.sleep(req.arrivalMs - now());
      if (stopped()) break;
      inFlight.push(one(req));
    }
    await Promise.all(inFlight);
  } else {
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < o.requests.length && !stopped()) await one(o.requests[next++]);
    };
    await Promise.all(Array.from({ length: o.concurrency }, lane));
  }
  return timings.sort((a, b) => a.startMs - b.startMs);
}
