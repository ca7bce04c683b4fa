/**
 * Receiving a prompt's KV on a decode worker, through @duet/kv-transfer:
 *
 *   arrival ─▶ beginImport (reserves the prompt's blocks, pins the cached prefix)
 *   offer   ─▶ accept{cached_tokens} ─▶ importKv(chunk…) ─▶ complete{first} ─▶ resumeImported(first)
 *   failure ─▶ release (every block the import held)
 *
 * And a local move of KV between two requests of one engine (`adoptKv`), for resumed requests.
 */
import { ErrorCode, KvDtype, type KvTransferOffer } from '@duet/core';
import type { Engine, ImportRequest } from '@duet/engine';
import type { FirstToken, KvSink, KvSlice } from '@duet/kv-transfer';
import { WorkerError } from './wire-map.ts';

/** Engine id of the held local prefill of a resumed request `id`. */
export const stagingId = (id: string): string => `${id}~kv`;

/** A KvSink over an import that already exists (beginImport was called at arrival). */
export class ImportSink implements KvSink {
  private open = true;

  constructor(
    private readonly engine: Engine,
    private readonly id: string,
    private readonly cachedTokens: number,
  ) {}

  begin(offer: KvTransferOffer): { cachedTokens: number } {
    const c = this.engine.model.config;
    const l = offer.layout;
    if (!this.open) throw new WorkerError(ErrorCode.UNAVAILABLE, `request ${this.id} no longer waits for KV`);
    if (!l || l.numLayers !== c.numLayers || l.numKvHeads !== c.numKvHeads || l.headDim !== c.headDim || l.dtype !== KvDtype.F32) {
      throw new WorkerError(ErrorCode.INVALID_REQUEST, `offer layout ${JSON.stringify(l)} does not match ${c.numLayers}×${c.numKvHeads}×${c.headDim} f32`);
    }
    return { cachedTokens: this.cachedTokens };
  }

  write(slice: KvSlice): void {
    this.engine.importKv(this.id, slice.layer, slice.tokenStart, { k: slice.k, v: slice.v });
  }

  finish(_first: FirstToken): void {
    this.open = false; // the run resumes the import once the transfer's result resolves
  }

  abort(): void {
    this.open = false;
    this.engine.release(this.id);
  }
}

/**
 * Moves the prompt KV of held request `fromId` into a new import `req` (which carries the tokens
 * generated so far) and drops `fromId`; returns the prompt tokens the import found cached.
 * Synchronous, so no scheduler step runs in between and the just-freed cached blocks are re-pinned.
 */
export function adoptKv(engine: Engine, fromId: string, req: ImportRequest): number {
  const p = req.promptIds.length;
  const layers = Array.from({ length: engine.model.config.numLayers }, (_, l) => engine.exportKv(fromId, l, 0, p));
  engine.release(fromId);
  const { cachedTokens } = engine.beginImport(req);
  const slot = engine.model.config.numKvHeads * engine.model.config.headDim;
  if (cachedTokens < p) {
    layers.forEach(({ k, v }, l) => engine.importKv(req.id, l, cachedTokens, { k: k.subarray(cachedTokens * slot), v: v.subarray(cachedTokens * slot) }));
  }
  return cachedTokens;
}
