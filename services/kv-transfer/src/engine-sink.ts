/**
 * Receiver-side engine adapter: begin → beginImport (pins the cached prefix, reports it), each
 * chunk → importKv, finish → finishImport (the request joins continuous batching), abort →
 * release (frees every block the import held).
 */
import { KvDtype, type KvTransferOffer } from '@duet/core';
import type { Engine, ImportRequest, SampledToken } from '@duet/engine';
import type { FirstToken, KvSink, KvSlice } from './types.ts';

export class LayoutMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LayoutMismatchError';
  }
}

/** Wire first token → the engine's SampledToken (logprobs only when the request asked for them). */
export function toSampled(t: FirstToken, logprobs: number | null): SampledToken {
  if (logprobs === null) return { id: t.tokenId, logprob: null, top: null };
  return { id: t.tokenId, logprob: t.logprob ?? null, top: (t.topLogprobs ?? []).map((a) => ({ id: a.tokenId, logprob: a.logprob })) };
}

export class EngineKvSink implements KvSink {
  private open = false;

  /**
   * `request.generated` may already hold the first token (then the transfer's must match it), or be
   * empty: the first token that ends the transfer is then handed to the engine at finish.
   */
  constructor(
    private readonly engine: Engine,
    private readonly request: ImportRequest,
  ) {}

  begin(offer: KvTransferOffer): { cachedTokens: number } {
    const c = this.engine.model.config;
    const l = offer.layout;
    if (!l || l.numLayers !== c.numLayers || l.numKvHeads !== c.numKvHeads || l.headDim !== c.headDim || l.dtype !== KvDtype.F32) {
      throw new LayoutMismatchError(`offer layout ${JSON.stringify(l)} does not match this engine (${c.numLayers}×${c.numKvHeads}×${c.headDim} f32)`);
    }
    const r = this.engine.beginImport(this.request);
    this.open = true;
    return r;
  }

  write(slice: KvSlice): void {
    this.engine.importKv(this.request.id, slice.layer, slice.tokenStart, { k: slice.k, v: slice.v });
  }

  finish(firstToken: FirstToken): void {
    const known = this.request.generated[0];
    if (known && firstToken.tokenId !== known.id) throw new Error(`first token ${firstToken.tokenId} differs from the expected ${known.id}`);
    this.engine.finishImport(this.request.id, known ? [] : [toSampled(firstToken, this.request.sampling?.logprobs ?? null)]);
    this.open = false;
  }

  abort(): void {
    if (this.open) this.engine.release(this.request.id);
    this.open = false;
  }
}
