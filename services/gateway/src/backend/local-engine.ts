/**
 * LocalEngineBackend: an in-process `EngineLoop` over a real `Engine` (aggregated runs and the
 * HTTP-layer tests). One engine per model id.
 */
import { InvalidRequestError, type EngineLoop, type LoopEvent } from '@duet/engine';
import { BackendFailureError, BackendRequestError } from './errors.ts';
import type { BackendEvent, BackendRequest, InferenceBackend } from './types.ts';

export class LocalEngineBackend implements InferenceBackend {
  private closed = false;

  /** `loops` maps a served model id to the loop that runs it. */
  constructor(private readonly loops: ReadonlyMap<string, EngineLoop>) {}

  ready(): boolean {
    return !this.closed && this.loops.size > 0;
  }

  async *generate(req: BackendRequest, signal: AbortSignal): AsyncIterable<BackendEvent> {
    const loop = this.loops.get(req.model);
    if (!loop) {
      yield { type: 'error', error: new BackendRequestError(`model ${req.model} is not served here`, 'model', true) };
      return;
    }
    const stream = this.submit(loop, req);
    if (stream instanceof Error) {
      yield { type: 'error', error: stream };
      return;
    }
    const onAbort = (): void => void loop.cancel(req.requestId);
    signal.addEventListener('abort', onAbort, { once: true });
    let finished = false;
    try {
      if (signal.aborted) onAbort();
      for await (const ev of stream) {
        const out = toBackendEvent(ev);
        finished = out.type !== 'tokens';
        yield out;
        if (finished) return;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      // The consumer stopped early (stop string, error): free the blocks now.
      if (!finished) loop.cancel(req.requestId);
    }
  }

  private submit(loop: EngineLoop, req: BackendRequest): AsyncIterable<LoopEvent> | Error {
    const s = req.sampling;
    try {
      return loop.submit({
        id: req.requestId,
        promptIds: req.promptIds,
        // EOS ids are already in stopTokenIds (the gateway knows the tokenizer's).
        ignoreEos: true,
        salt: req.hashSalt,
        sampling: { temperature: s.temperature, topP: s.topP, seed: s.seed, maxTokens: s.maxTokens, stopTokenIds: s.stopTokenIds, logprobs: s.logprobs },
      });
    } catch (err) {
      if (err instanceof InvalidRequestError) return new BackendRequestError(err.message, err.param);
      return new BackendFailureError(`engine rejected the request: ${(err as Error).message}`, { cause: err });
    }
  }

  close(): Promise<void> {
    this.closed = true;
    for (const loop of this.loops.values()) loop.stop();
    return Promise.resolve();
  }
}

function toBackendEvent(ev: LoopEvent): BackendEvent {
  if (ev.type === 'tokens') return { type: 'tokens', tokens: ev.tokens.map((t) => ({ id: t.id, logprob: t.logprob, top: t.top })) };
  if (ev.type === 'error') return { type: 'error', error: new BackendFailureError(`engine failed: ${ev.error.message}`, { cause: ev.error }) };
  return {
    type: 'done',
    finishReason: ev.finishReason,
    usage: { promptTokens: ev.promptTokens, completionTokens: ev.outputTokens, cachedTokens: ev.cachedTokens },
  };
}
