/**
 * One choice of a request: backend tokens → text (incremental detokenizer, never half a UTF-8
 * character) → stop strings (text cut before the stop, request cancelled on the backend) →
 * ChoiceEvents. `runChoices` merges the n choices of a request into one stream.
 */
import { AsyncQueue, type DuetTokenizer } from '@duet/engine';
import type { BackendRequest, BackendToken, BackendUsage, InferenceBackend } from '../backend/types.ts';
import { BackendFailureError } from '../backend/errors.ts';
import { StopMatcher } from './stop.ts';

export interface TokenInfo {
  id: number;
  text: string;
  logprob: number | null;
  top: { id: number; text: string; logprob: number }[] | null;
}

export type ChoiceEvent =
  | { type: 'delta'; text: string; tokens: TokenInfo[] }
  | { type: 'end'; finishReason: 'stop' | 'length'; usage: BackendUsage }
  | { type: 'error'; error: Error };

export type IndexedEvent = ChoiceEvent & { index: number };

function tokenInfo(tok: DuetTokenizer, t: BackendToken): TokenInfo {
  const text = (id: number): string => tok.decode([id]);
  return { id: t.id, text: text(t.id), logprob: t.logprob, top: t.top?.map((a) => ({ id: a.id, text: text(a.id), logprob: a.logprob })) ?? null };
}

export async function* runChoice(
  backend: InferenceBackend,
  req: BackendRequest,
  tok: DuetTokenizer,
  stops: readonly string[],
  signal: AbortSignal,
): AsyncIterable<ChoiceEvent> {
  const ctrl = new AbortController();
  const forward = (): void => ctrl.abort();
  signal.addEventListener('abort', forward, { once: true });
  const decoder = tok.streamDecoder({ skipSpecialTokens: true });
  const stop = new StopMatcher(stops);
  let completion = 0;
  try {
    for await (const ev of backend.generate(req, ctrl.signal)) {
      if (ev.type === 'error') {
        yield { type: 'error', error: ev.error };
        return;
      }
      if (ev.type === 'tokens') {
        completion += ev.tokens.length;
        const text = stop.push(decoder.push(ev.tokens.map((t) => t.id)));
        yield { type: 'delta', text, tokens: ev.tokens.map((t) => tokenInfo(tok, t)) };
        if (stop.stopped) {
          ctrl.abort();
          yield { type: 'end', finishReason: 'stop', usage: { promptTokens: req.promptIds.length, completionTokens: completion, cachedTokens: 0 } };
          return;
        }
        continue;
      }
      if (ev.finishReason === 'abort') {
        if (!signal.aborted) yield { type: 'error', error: new BackendFailureError('the request was cancelled by the backend') };
        return;
      }
      const tail = stop.push(decoder.flush()) + stop.flush();
      if (tail) yield { type: 'delta', text: tail, tokens: [] };
      yield { type: 'end', finishReason: stop.stopped ? 'stop' : ev.finishReason, usage: { ...ev.usage, completionTokens: completion } };
      return;
    }
    if (!signal.aborted) yield { type: 'error', error: new BackendFailureError('the backend ended the stream without finishing') };
  } finally {
    signal.removeEventListener('abort', forward);
  }
}

/** Runs every choice concurrently; events carry their choice index. Ends when all choices end. */
export function runChoices(n: number, start: (index: number) => AsyncIterable<ChoiceEvent>): AsyncIterable<IndexedEvent> {
  const q = new AsyncQueue<IndexedEvent>();
  let open = n;
  const pump = async (index: number): Promise<void> => {
    try {
      for await (const ev of start(index)) q.push({ ...ev, index });
    } catch (err) {
      q.push({ type: 'error', error: err instanceof Error ? err : new Error(String(err)), index });
    } finally {
      if (--open === 0) q.close();
    }
  };
  for (let i = 0; i < n; i++) void pump(i);
  return q;
}
