/**
 * One placement attempt of a request over NATS:
 *
 *   subscribe duet.tokens.<id>  ─▶ DecodeRequest ─▶ duet.decode.<w>.run (RunAck, at once)
 *                               └▶ PrefillRequest ─▶ duet.prefill.<p>.run (when placed disaggregated)
 *   TokenChunk seq 0, 1, 2 … ◀── decode worker      (a gap or repeat is an error)
 *
 * The subscription exists before any work is sent, so no chunk can be missed. The attempt ends
 * with `finished`, `failed` (an error event was yielded) or `retry` (the decode worker never acked,
 * refused, or went silent and stopped beating): the caller then places the request again.
 */
import type { Msg, NatsConnection } from 'nats';
import { ErrorCode, FinishReason, injectTraceHeaders, requestTyped, wire, type GeneratedToken, type Placement, type Subjects, type WireError } from '@duet/core';
import { AsyncQueue } from '@duet/engine';
import type { Logger } from '@duet/core';
import { BackendFailureError, BackendRequestError, NoCapacityError } from './errors.ts';
import type { BackendEvent, BackendRequest } from './types.ts';
import type { WorkerLiveness } from './worker-liveness.ts';

export interface AttemptDeps {
  nc: NatsConnection;
  subjects: Subjects;
  liveness: WorkerLiveness;
  logger: Logger;
  runAckTimeoutMs: number;
  stallTimeoutMs: number;
  transferTimeoutMs: number;
  transport: 'nats' | 'tcp';
}

export type AttemptResult = { kind: 'finished' } | { kind: 'failed' } | { kind: 'retry'; workerId: string; reason: string };

type Item = Msg | 'tick' | 'abort';

/** A WireError from a worker or the router, as a typed backend error. */
export function fromWireError(e: WireError | undefined, what: string): Error {
  const msg = `${what}: ${e?.message || 'no reason given'}`;
  if (e?.code === ErrorCode.INVALID_REQUEST) return new BackendRequestError(msg, e.param || null);
  if (e?.code === ErrorCode.NOT_FOUND) return new BackendRequestError(msg, e.param || 'model', true);
  if (e?.code === ErrorCode.NO_CAPACITY) return new NoCapacityError(msg, 1000);
  return new BackendFailureError(msg);
}

const FINISH: Partial<Record<FinishReason, 'stop' | 'length' | 'abort'>> = {
  [FinishReason.STOP]: 'stop',
  [FinishReason.LENGTH]: 'length',
  [FinishReason.ABORT]: 'abort',
};

function runFields(d: AttemptDeps, req: BackendRequest, transferId: string) {
  const s = req.sampling;
  return {
    requestId: req.requestId,
    model: req.model,
    promptTokenIds: req.promptIds,
    sampling: { temperature: s.temperature, topP: s.topP, seed: s.seed, maxTokens: s.maxTokens, stopTokenIds: s.stopTokenIds, logprobs: s.logprobs ?? undefined },
    hashSalt: req.hashSalt,
    transferId,
    transport: wireTransport(d.transport),
    transferTimeoutMs: d.transferTimeoutMs,
  };
}

function wireTransport(t: 'nats' | 'tcp'): 1 | 2 {
  return t === 'tcp' ? 2 : 1;
}

/**
 * Prompt tokens the prefill worker found cached (what prefix caching saved), once its reply is in;
 * null without a prefill worker or when the prefill failed (the decode worker's figure counts then).
 */
type PrefillCached = Promise<number | null> | null;

/** Sends the DecodeRequest (and PrefillRequest); `taken` when the decode worker took it. */
async function sendWork(d: AttemptDeps, req: BackendRequest, p: Placement, generated: GeneratedToken[]): Promise<AttemptResult | Error | { taken: PrefillCached }> {
  const transferId = `${req.requestId}-x${generated.length}`;
  // A resumed request is prefilled by its new decode worker (prompt + generated), never split.
  const prefillId = generated.length === 0 ? p.prefillWorkerId : undefined;
  const decode = { ...runFields(d, req, transferId), prefillWorkerId: prefillId, generated };
  let ack;
  try {
    ack = await requestTyped(d.nc, d.subjects.decodeRun(p.decodeWorkerId), wire.decodeRequest, decode, wire.runAck, { timeoutMs: d.runAckTimeoutMs, headers: injectTraceHeaders() });
  } catch (err) {
    return { kind: 'retry', workerId: p.decodeWorkerId, reason: `no RunAck: ${(err as Error).message}` };
  }
  if (!ack.accepted) {
    if (ack.error?.code === ErrorCode.INVALID_REQUEST) return fromWireError(ack.error, 'decode worker refused the request');
    return { kind: 'retry', workerId: p.decodeWorkerId, reason: `refused: ${ack.error?.message ?? 'no reason'}` };
  }
  return { taken: prefillId ? sendPrefill(d, req, prefillId, p.decodeWorkerId, transferId) : null };
}

/** Never rejects: a failed prefill makes the decode worker prefill locally, so it is only logged. */
function sendPrefill(d: AttemptDeps, req: BackendRequest, prefillId: string, decodeId: string, transferId: string): Promise<number | null> {
  const body = { ...runFields(d, req, transferId), decodeWorkerId: decodeId };
  const timeoutMs = d.transferTimeoutMs + d.runAckTimeoutMs;
  return requestTyped(d.nc, d.subjects.prefillRun(prefillId), wire.prefillRequest, body, wire.prefillResult, { timeoutMs, headers: injectTraceHeaders() }).then(
    (r) => {
      if (!r.error) return r.cachedTokens;
      d.logger.warn({ requestId: req.requestId, prefillId, error: r.error.message }, 'prefill failed; decode worker prefills locally');
      return null;
    },
    (err: unknown) => {
      d.logger.warn({ requestId: req.requestId, prefillId, err: String(err) }, 'prefill request failed');
      return null;
    },
  );
}

/** The prefill's cached tokens if its reply comes within `waitMs` (it normally precedes the end). */
async function prefillCachedWithin(p: PrefillCached, waitMs: number): Promise<number | null> {
  if (!p) return null;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((res) => (timer = setTimeout(() => res(null), waitMs)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

export function publishCancel(d: AttemptDeps, requestId: string, reason: string): void {
  d.nc.publish(d.subjects.cancel(requestId), wire.cancelRequest.encode({ requestId, reason }), { headers: injectTraceHeaders() });
}

export async function* runAttempt(
  d: AttemptDeps,
  req: BackendRequest,
  p: Placement,
  generated: GeneratedToken[],
  signal: AbortSignal,
): AsyncGenerator<BackendEvent, AttemptResult> {
  const q = new AsyncQueue<Item>();
  const sub = d.nc.subscribe(d.subjects.tokens(req.requestId), { callback: (err, msg) => !err && q.push(msg) });
  const onAbort = (): void => q.push('abort');
  signal.addEventListener('abort', onAbort, { once: true });
  const tick = setInterval(() => q.push('tick'), Math.max(10, Math.min(1000, d.stallTimeoutMs / 4)));
  try {
    const sent = await sendWork(d, req, p, generated);
    if (sent instanceof Error) {
      yield { type: 'error', error: sent };
      return { kind: 'failed' };
    }
    if (!('taken' in sent)) return sent;
    return yield* readTokens(d, req, p.decodeWorkerId, q, generated, sent.taken);
  } finally {
    clearInterval(tick);
    signal.removeEventListener('abort', onAbort);
    sub.unsubscribe();
  }
}

async function* readTokens(d: AttemptDeps, req: BackendRequest, decodeId: string, q: AsyncQueue<Item>, generated: GeneratedToken[], prefillCached: PrefillCached): AsyncGenerator<BackendEvent, AttemptResult> {
  let seq = 0;
  let lastAt = Date.now();
  for await (const item of q) {
    if (item === 'abort') {
      publishCancel(d, req.requestId, 'client cancelled');
      return { kind: 'finished' };
    }
    if (item === 'tick') {
      if (Date.now() - lastAt > d.stallTimeoutMs && !d.liveness.isAlive(decodeId)) return { kind: 'retry', workerId: decodeId, reason: 'token stream stalled and the worker stopped beating' };
      continue;
    }
    const chunk = wire.tokenChunk.decode(item.data);
    if (chunk.workerId && chunk.workerId !== decodeId) continue; // a previous attempt's worker
    if (chunk.seq !== seq) {
      publishCancel(d, req.requestId, 'token stream gap');
      yield { type: 'error', error: new BackendFailureError(`token stream of ${req.requestId}: expected chunk ${seq}, got ${chunk.seq}`) };
      return { kind: 'failed' };
    }
    seq++;
    lastAt = Date.now();
    if (chunk.tokens.length > 0) {
      generated.push(...chunk.tokens);
      yield { type: 'tokens', tokens: chunk.tokens.map((t) => ({ id: t.tokenId, logprob: t.logprob ?? null, top: t.logprob === undefined ? null : t.topLogprobs.map((a) => ({ id: a.tokenId, logprob: a.logprob })) })) };
    }
    if (chunk.finishReason === FinishReason.UNSPECIFIED) continue;
    const reason = FINISH[chunk.finishReason];
    if (!reason) yield { type: 'error', error: fromWireError(chunk.error, `decode worker ${decodeId} failed`) };
    else {
      const u = chunk.usage;
      // Disaggregated: cached tokens are what the prefill worker's cache saved; otherwise the decode worker's.
      const cached = (await prefillCachedWithin(prefillCached, 1000)) ?? u?.cachedTokens ?? 0;
      yield { type: 'done', finishReason: reason, usage: { promptTokens: u?.promptTokens ?? req.promptIds.length, completionTokens: u?.completionTokens ?? generated.length, cachedTokens: cached } };
    }
    return reason ? { kind: 'finished' } : { kind: 'failed' };
  }
  return { kind: 'failed' };
}
