/**
 * A streaming OpenAI client for the load tester: POST /v1/completions with the prompt as token
 * ids, `stream: true` and `stream_options.include_usage`, timing every chunk. It never throws for a
 * request: a failure becomes a timing whose `error` is a class —
 *
 *   http_<status>[:<code>]   non-2xx answer (code from the OpenAI error body, e.g. http_503:no_capacity)
 *   stream[:<code>]          an error event inside the stream
 *   timeout                  no complete answer within timeoutMs
 *   connection               the request could not be sent or the connection broke
 *   incomplete               the stream ended without [DONE]
 *   bad_chunk                a stream event that is not JSON
 *   cancelled                the run was stopped (Ctrl-C)
 */
import type { WorkloadRequest } from '../workload/types.ts';
import type { SendContext, SendFn } from '../run/runner.ts';
import type { RequestTiming } from '../run/timing.ts';
import { sseData } from './sse.ts';

export interface ClientOptions {
  /** Server root or its /v1 (both accepted). */
  url: string;
  model: string;
  timeoutMs: number;
  /** 0 = greedy (the default: runs repeat). */
  temperature?: number;
  /** Authorization: Bearer … */
  apiKey?: string;
}

interface Chunk {
  choices?: Array<{ text?: string; delta?: { content?: string | null; role?: string }; finish_reason?: string | null }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } | null } | null;
  error?: { code?: string | null; type?: string; message?: string };
}

/** `http://h:p`, `http://h:p/`, `http://h:p/v1` → `http://h:p/v1`. */
export function apiBase(url: string): string {
  const u = url.replace(/\/+$/, '');
  return u.endsWith('/v1') ? u : `${u}/v1`;
}

function headers(o: ClientOptions): Record<string, string> {
  return { 'content-type': 'application/json', ...(o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {}) };
}

/** True for a chunk that carries generated tokens (not a role opener, not a bare finish). */
function isTokenChunk(c: Chunk): boolean {
  const ch = c.choices?.[0];
  if (!ch) return false;
  const text = ch.text ?? ch.delta?.content ?? undefined;
  if (ch.delta?.role && !text) return false;
  if (text) return true;
  return text !== undefined && (ch.finish_reason === null || ch.finish_reason === undefined);
}

async function httpError(res: Response): Promise<{ error: string; message: string }> {
  const body = await res.text().catch(() => '');
  let code: string | null = null;
  let message = body.slice(0, 300);
  try {
    const e = (JSON.parse(body) as Chunk).error;
    code = e?.code ?? null;
    message = e?.message ?? message;
  } catch {
    // not JSON: keep the text
  }
  return { error: `http_${res.status}${code ? `:${code}` : ''}`, message };
}

async function stream(res: Response, t: RequestTiming, now: () => number): Promise<void> {
  let chunks = 0;
  for await (const data of sseData(res.body as unknown as AsyncIterable<Uint8Array>)) {
    if (data.trim() === '[DONE]') {
      if (t.outputTokens === 0) t.outputTokens = chunks;
      return;
    }
    let c: Chunk;
    try {
      c = JSON.parse(data) as Chunk;
    } catch {
      t.error = 'bad_chunk';
      t.errorMessage = `not JSON: ${data.slice(0, 200)}`;
      return;
    }
    if (c.error) {
      t.error = `stream${c.error.code ? `:${c.error.code}` : ''}`;
      t.errorMessage = c.error.message;
      return;
    }
    if (isTokenChunk(c)) {
      const at = now();
      t.firstTokenMs ??= at;
      t.tokenTimesMs.push(at);
      chunks++;
    }
    if (c.usage) {
      t.outputTokens = c.usage.completion_tokens ?? chunks;
      t.promptTokens = c.usage.prompt_tokens ?? t.promptTokens;
      t.cachedTokens = c.usage.prompt_tokens_details?.cached_tokens ?? null;
    }
  }
  t.error = 'incomplete';
  t.errorMessage = 'the stream ended without [DONE]';
}

function classify(err: unknown, timedOut: boolean, cancelled: boolean): { error: string; message: string } {
  const message = err instanceof Error ? `${err.message}${err.cause instanceof Error ? `: ${err.cause.message}` : ''}` : String(err);
  if (timedOut) return { error: 'timeout', message };
  if (cancelled) return { error: 'cancelled', message };
  return { error: 'connection', message };
}

/** A SendFn for the runner. */
export function completionsClient(o: ClientOptions): SendFn {
  const endpoint = `${apiBase(o.url)}/completions`;
  return async (req: WorkloadRequest, ctx: SendContext): Promise<RequestTiming> => {
    const t: RequestTiming = {
      id: req.id, startMs: ctx.now(), firstTokenMs: null, tokenTimesMs: [], endMs: 0,
      promptTokens: req.promptIds.length, outputTokens: 0, cachedTokens: null, error: null,
      ...(req.session ? { session: req.session.id } : {}), ...(req.prefixGroup ? { prefixGroup: req.prefixGroup } : {}), ...(req.domain ? { domain: req.domain } : {}),
    };
    const timeout = AbortSignal.timeout(o.timeoutMs);
    const signal = AbortSignal.any([timeout, ctx.signal]);
    const body = {
      model: o.model, prompt: req.promptIds, max_tokens: req.maxTokens, temperature: o.temperature ?? 0,
      stream: true, stream_options: { include_usage: true },
    };
    try {
      const res = await fetch(endpoint, { method: 'POST', headers: headers(o), body: JSON.stringify(body), signal });
      if (!res.ok) Object.assign(t, await httpError(res).then((e) => ({ error: e.error, errorMessage: e.message })));
      else await stream(res, t, () => ctx.now());
    } catch (err) {
      const c = classify(err, timeout.aborted, ctx.signal.aborted);
      t.error = c.error;
      t.errorMessage = c.message;
    }
    t.endMs = ctx.now();
    return t;
  };
}

export interface ServedModelInfo {
  id: string;
  /** Context length when the server says (Duet and vLLM: max_model_len). */
  maxModelLen: number | null;
}

/** GET /v1/models. */
export async function listModels(url: string, apiKey?: string): Promise<ServedModelInfo[]> {
  const res = await fetch(`${apiBase(url)}/models`, { headers: headers({ url, model: '', timeoutMs: 0, apiKey }) });
  if (!res.ok) throw new Error(`GET ${apiBase(url)}/models answered ${res.status}`);
  const body = (await res.json()) as { data?: Array<{ id: string; max_model_len?: number }> };
  return (body.data ?? []).map((m) => ({ id: m.id, maxModelLen: typeof m.max_model_len === 'number' ? m.max_model_len : null }));
}
