/**
 * Drain-before-removal, over NATS (`workerControl(workerId)`, docs/wire.md):
 *
 *   WorkerControlRequest{drain, deadline_ms = timeout} ─▶ worker: DRAINING, refuses new work
 *   WorkerControlRequest{} every pollMs               ─▶ { inflight, drained }
 *   drained                                            ─▶ outcome 'drained': safe to remove
 *
 * Outcomes: 'drained' (nothing held; the normal case), 'deadline' (the worker's own deadline passed
 * and it cancelled what it still held — logged at error level), 'timeout' (no drained reply by
 * timeout + grace: the worker is stuck or unreachable; removed anyway, logged at error level),
 * 'gone' (no worker answers: it already exited, nothing left to lose).
 */
import { requestTyped, wire, type Logger, type Subjects, type WorkerControlReply } from '@duet/core';
import type { NatsConnection } from 'nats';

export type DrainOutcome = 'drained' | 'deadline' | 'timeout' | 'gone';

export interface DrainResult {
  workerId: string;
  outcome: DrainOutcome;
  /** Requests held when the drain was asked for. */
  inflightAtStart: number;
  /** Requests the worker cancelled at its deadline (0 in a clean drain). */
  cancelled: number;
  waitedMs: number;
}

export interface DrainOptions {
  nc: NatsConnection;
  subjects: Subjects;
  workerId: string;
  requesterId: string;
  timeoutMs: number;
  logger: Logger;
  pollMs?: number;
  /** One control request's timeout. */
  requestTimeoutMs?: number;
  /** Extra wait past `timeoutMs` for the worker's own deadline cancel to land. */
  graceMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const sleepMs = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function isNoResponders(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === '503';
}

async function ask(o: DrainOptions, drain: boolean): Promise<WorkerControlReply | 'gone' | null> {
  try {
    return await requestTyped(
      o.nc,
      o.subjects.workerControl(o.workerId),
      wire.workerControlRequest,
      { requesterId: o.requesterId, drain, deadlineMs: drain ? o.timeoutMs : 0 },
      wire.workerControlReply,
      { timeoutMs: o.requestTimeoutMs ?? 2000 },
    );
  } catch (err) {
    if (isNoResponders(err)) return 'gone';
    o.logger.warn({ workerId: o.workerId, err: String(err) }, 'worker control request failed; retrying');
    return null; // a busy worker may answer late: the next poll retries
  }
}

export async function drainWorker(o: DrainOptions): Promise<DrainResult> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? sleepMs;
  const t0 = now();
  const giveUpAt = t0 + o.timeoutMs + (o.graceMs ?? 5000);
  const result = (outcome: DrainOutcome, inflightAtStart: number, cancelled = 0): DrainResult => ({ workerId: o.workerId, outcome, inflightAtStart, cancelled, waitedMs: now() - t0 });
  let first: WorkerControlReply | 'gone' | null = null;
  while (first === null && now() < giveUpAt) {
    first = await ask(o, true);
    if (first === null) await sleep(o.pollMs ?? 250);
  }
  if (first === 'gone') return result('gone', 0);
  if (first === null) return loud(o, result('timeout', 0));
  const inflightAtStart = first.inflight;
  o.logger.info({ workerId: o.workerId, inflight: inflightAtStart }, 'draining worker');
  let reply: WorkerControlReply | 'gone' | null = first;
  while (now() < giveUpAt) {
    if (reply === 'gone') return result('gone', inflightAtStart);
    if (reply?.drained) {
      const r = result(reply.cancelledAtDeadline > 0 ? 'deadline' : 'drained', inflightAtStart, reply.cancelledAtDeadline);
      return r.outcome === 'deadline' ? loud(o, r) : r;
    }
    await sleep(o.pollMs ?? 250);
    reply = await ask(o, false);
  }
  return loud(o, result('timeout', inflightAtStart));
}

function loud(o: DrainOptions, r: DrainResult): DrainResult {
  o.logger.error({ ...r, timeoutMs: o.timeoutMs }, `DRAIN ${r.outcome.toUpperCase()}: worker ${o.workerId} is removed without a clean drain`);
  return r;
}
