/**
 * Runs a prepared request's n choices on the backend and answers: one JSON body, or SSE chunks
 * ending with `data: [DONE]`. Headers are committed only once the first event is in, so a failure
 * before any token (no capacity, bad request) still gets its proper HTTP status.
 */
import type { Response } from 'express';
import type { BackendUsage, InferenceBackend } from '../backend/types.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { runChoice, runChoices, type IndexedEvent } from './choices.ts';
import { toApiError } from './errors.ts';
import { openAiUsage, type CollectedChoice, type ResponseFormat } from './format.ts';
import { backendRequest, type Prepared } from './prepare.ts';

export interface GenerationContext {
  res: Response;
  backend: InferenceBackend;
  metrics: GatewayMetrics;
  prepared: Prepared;
  format: ResponseFormat;
  requestId: string;
  hashSalt: string;
  /** Aborted when the client goes away or the request times out. */
  signal: AbortSignal;
  startedAt: number;
}

/** Per-choice timing for TTFT and inter-token latency. */
class TokenClock {
  private readonly last = new Map<number, number>();
  private first = true;
  constructor(
    private readonly ctx: GenerationContext,
  ) {}
  observe(ev: IndexedEvent): void {
    if (ev.type !== 'delta' || ev.tokens.length === 0) return;
    const now = performance.now();
    if (this.first) this.ctx.metrics.ttft.observe((now - this.ctx.startedAt) / 1000);
    this.first = false;
    const prev = this.last.get(ev.index);
    if (prev !== undefined) for (let i = 0; i < ev.tokens.length; i++) this.ctx.metrics.interTokenLatency.observe((now - prev) / 1000 / ev.tokens.length);
    this.last.set(ev.index, now);
  }
}

function start(ctx: GenerationContext, abort: AbortController): AsyncIterable<IndexedEvent> {
  const p = ctx.prepared;
  return runChoices(p.n, (i) => runChoice(ctx.backend, backendRequest(p, ctx.requestId, i, ctx.hashSalt), p.model.tokenizer, p.stops, abort.signal));
}

function linked(signal: AbortSignal): AbortController {
  const c = new AbortController();
  if (signal.aborted) c.abort();
  else signal.addEventListener('abort', () => c.abort(), { once: true });
  return c;
}

function record(ctx: GenerationContext, usage: BackendUsage[]): ReturnType<typeof openAiUsage> {
  const u = openAiUsage(ctx.prepared.promptIds.length, usage);
  ctx.metrics.promptTokens.inc(u.prompt_tokens);
  ctx.metrics.cachedPromptTokens.inc(u.prompt_tokens_details.cached_tokens);
  return u;
}

function envelope(ctx: GenerationContext, object: string): { id: string; object: string; created: number; model: string } {
  return { id: ctx.requestId, object, created: Math.floor(Date.now() / 1000), model: ctx.prepared.model.id };
}

/** Non-streaming: collect every choice, then one JSON body. Throws the first error. */
export async function serveWhole(ctx: GenerationContext): Promise<void> {
  const abort = linked(ctx.signal);
  const clock = new TokenClock(ctx);
  const choices: CollectedChoice[] = Array.from({ length: ctx.prepared.n }, () => ({ text: '', tokens: [], finishReason: null }));
  const usage: BackendUsage[] = [];
  try {
    for await (const ev of start(ctx, abort)) {
      clock.observe(ev);
      const c = choices[ev.index];
      if (ev.type === 'error') throw ev.error;
      if (ev.type === 'delta') {
        c.text += ev.text;
        c.tokens.push(...ev.tokens);
      } else {
        c.finishReason = ev.finishReason;
        usage.push(ev.usage);
      }
    }
  } finally {
    abort.abort();
  }
  if (ctx.signal.aborted) return;
  const logprobs = ctx.prepared.logprobs !== null;
  ctx.res.json({ ...envelope(ctx, ctx.format.finalObject), choices: choices.map((c, i) => ctx.format.whole(i, c, logprobs)), usage: record(ctx, usage) });
}

/** Streaming: SSE chunks; an error after the headers went out is sent as an `error` event. */
export async function serveStream(ctx: GenerationContext): Promise<void> {
  const abort = linked(ctx.signal);
  const clock = new TokenClock(ctx);
  const { format, prepared: p, res } = ctx;
  const offsets = new Array<number>(p.n).fill(0);
  const usage: BackendUsage[] = [];
  const send = (choice: object): void => {
    const chunk = { ...envelope(ctx, format.streamObject), choices: [choice], ...(p.includeUsage ? { usage: null } : {}) };
    res.write(`data: ${JSON.stringify(chunk)}\n\n`);
  };
  let open = false;
  try {
    for await (const ev of start(ctx, abort)) {
      clock.observe(ev);
      if (ev.type === 'error' && !open) throw ev.error;
      if (!open) open = openStream(ctx, send);
      if (ev.type === 'error') {
        res.write(`data: ${JSON.stringify(toApiError(ev.error).body())}\n\n`);
        abort.abort();
        break;
      }
      if (ev.type === 'delta') {
        if (ev.text || ev.tokens.length > 0) send(format.delta(ev.index, ev.text, ev.tokens, offsets[ev.index], p.logprobs !== null));
        offsets[ev.index] += ev.text.length;
      } else {
        send(format.closing(ev.index, ev.finishReason));
        usage.push(ev.usage);
      }
    }
  } finally {
    abort.abort();
  }
  if (ctx.signal.aborted || res.writableEnded) return;
  if (p.includeUsage && usage.length === p.n) {
    res.write(`data: ${JSON.stringify({ ...envelope(ctx, format.streamObject), choices: [], usage: record(ctx, usage) })}\n\n`);
  } else if (usage.length === p.n) record(ctx, usage);
  res.end('data: [DONE]\n\n');
}

function openStream(ctx: GenerationContext, send: (choice: object) => void): true {
  ctx.res.status(200).set({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  ctx.res.flushHeaders();
  for (let i = 0; i < ctx.prepared.n; i++) {
    const o = ctx.format.opening(i);
    if (o) send(o);
  }
  return true;
}
