/**
 * One load test: schedule the workload's arrivals, send every request with the streaming client
 * (or an injected SendFn), show progress, and summarize into a LoadTestResult.
 */
import { completionsClient } from './client/openai.ts';
import { bucketSeconds, summarize, timeline, type Slo } from './metrics.ts';
import type { LoadTestResult } from './result.ts';
import { realClock, type Clock } from './run/clock.ts';
import { Progress, type ProgressOut } from './run/progress.ts';
import { runRequests, type SendFn } from './run/runner.ts';
import type { RequestTiming } from './run/timing.ts';
import { describeArrival, scheduleArrivals, type ArrivalSpec } from './workload/arrivals.ts';
import { prefixReuseBound } from './workload/bound.ts';
import { Rng } from './workload/rng.ts';
import { randomTokens } from './workload/tokens.ts';
import type { TokenRange, Workload, WorkloadRequest } from './workload/types.ts';

export const DEFAULT_SLO: Slo = { ttftMs: 2000, tpotMs: 200 };
/** The engine's default KV block size; the hit-rate bound counts blocks of this size. */
export const DEFAULT_BLOCK_SIZE = 16;

export interface LoadTestOptions {
  url: string;
  model: string;
  apiKey?: string;
  workload: Workload;
  arrival: ArrivalSpec;
  /** Send only the first N scheduled requests. */
  limit?: number;
  /** Start no request after this many ms. */
  durationMs?: number;
  slo?: Slo;
  timeoutMs?: number;
  temperature?: number;
  blockSize?: number;
  /** Where the progress bar goes (stderr); null for none. */
  progress?: ProgressOut | null;
  signal?: AbortSignal;
  clock?: Clock;
  /** Replaces the HTTP client (tests, simulation). */
  send?: SendFn;
}

export interface LoadTestRun {
  result: LoadTestResult;
  timings: RequestTiming[];
}

export async function runLoadTest(o: LoadTestOptions): Promise<LoadTestRun> {
  const clock = o.clock ?? realClock;
  const slo = o.slo ?? DEFAULT_SLO;
  const blockSize = o.blockSize ?? DEFAULT_BLOCK_SIZE;
  const requests = scheduleArrivals(o.workload, o.arrival, o.limit);
  const bound = prefixReuseBound(requests, blockSize);
  const send = o.send ?? completionsClient({ url: o.url, model: o.model, apiKey: o.apiKey, timeoutMs: o.timeoutMs ?? 300_000, temperature: o.temperature });
  const progress = o.progress ? new Progress({ total: requests.length, out: o.progress, now: () => clock.now() }) : null;
  const startedAt = new Date().toISOString();
  progress?.start();
  let timings: RequestTiming[];
  try {
    timings = await runRequests({
      requests, concurrency: o.arrival.kind === 'closed' ? o.arrival.concurrency : null, send, clock,
      durationMs: o.durationMs, signal: o.signal, onDone: (t) => progress?.record(t),
    });
  } finally {
    progress?.stop();
  }
  const summary = summarize(timings, slo);
  const bucketS = bucketSeconds(summary.wall_s);
  const result: LoadTestResult = {
    ...summary,
    target: { url: o.url, model: o.model },
    workload: { name: o.workload.name, description: o.workload.description, params: o.workload.params },
    arrival: describeArrival(o.arrival),
    prefix_hit_rate_upper_bound: bound.rate,
    block_size: blockSize,
    started_at: startedAt,
    bucket_s: bucketS,
    timeline: timeline(timings, bucketS, summary.wall_s),
  };
  return { result, timings };
}

/** `count` requests of fresh random tokens (no prefix shared with any workload of another seed). */
export function warmupRequests(count: number, promptTokens: number, maxTokens: number, range: TokenRange): WorkloadRequest[] {
  const rng = new Rng(0x3a7e, 0x3a7e);
  return Array.from({ length: count }, (_, i) => ({ id: `warmup-${i}`, arrivalMs: 0, promptIds: randomTokens(rng, promptTokens, range), maxTokens }));
}

export interface WarmUpOptions {
  url: string;
  model: string;
  apiKey?: string;
  requests: WorkloadRequest[];
  timeoutMs?: number;
  /**
   * How long a 503 (no capacity: the platform is up but its router has not seen a worker yet) is
   * retried, every 250 ms, before it counts as a failure. Default 30 s.
   */
  retryUnavailableMs?: number;
  send?: SendFn;
  clock?: Clock;
}

/**
 * Sends warm-up requests one at a time (JIT, WebAssembly compilation, first connections) and
 * fails loudly when one of them fails: a broken target must not produce a measurement. A 503 is
 * retried for a while, so a platform that is still registering its workers is waited for.
 */
export async function warmUp(o: WarmUpOptions): Promise<void> {
  const clock = o.clock ?? realClock;
  const send = o.send ?? completionsClient({ url: o.url, model: o.model, apiKey: o.apiKey, timeoutMs: o.timeoutMs ?? 300_000 });
  const deadline = clock.now() + (o.retryUnavailableMs ?? 30_000);
  const ctx = { now: () => clock.now(), signal: new AbortController().signal };
  for (const req of o.requests) {
    let t = await send(req, ctx);
    while (t.error?.startsWith('http_503') && clock.now() < deadline) {
      await clock.sleep(250);
      t = await send(req, ctx);
    }
    if (t.error !== null) throw new Error(`warm-up request ${t.id} against ${o.url} failed: ${t.error}${t.errorMessage ? ` (${t.errorMessage})` : ''}`);
  }
}
