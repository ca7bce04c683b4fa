/**
 * Engine ↔ wire conversions, and the one place a worker maps its errors to a WireError.
 */
import { ErrorCode, FinishReason, type GeneratedToken, type SamplingParams as WireSampling } from '@duet/core';
import { InvalidRequestError, type FinishReason as EngineFinish, type SampledToken, type SamplingParams } from '@duet/engine';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { GeneratedTokenSchema, WireErrorSchema } from '@duet/core';

export type GeneratedTokenInit = MessageInitShape<typeof GeneratedTokenSchema>;
export type WireErrorInit = MessageInitShape<typeof WireErrorSchema>;

/** A worker refuses or fails a request with one of these; `code` picks the wire ErrorCode. */
export class WorkerError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'WorkerError';
  }
}

/** Wire sampling → engine sampling. The wire's stop ids already hold EOS (unless ignored). */
export function samplingFromWire(s: WireSampling | undefined): Partial<SamplingParams> {
  if (!s) return { temperature: 0 };
  return {
    temperature: s.temperature,
    topP: s.topP === 0 ? 1 : s.topP,
    topK: s.topK,
    seed: s.seed,
    maxTokens: s.maxTokens === 0 ? undefined : s.maxTokens,
    stopTokenIds: [...s.stopTokenIds],
    logprobs: s.logprobs ?? null,
  };
}

export function tokenToWire(t: SampledToken): GeneratedTokenInit {
  return {
    tokenId: t.id,
    ...(t.logprob !== null ? { logprob: t.logprob } : {}),
    topLogprobs: (t.top ?? []).map((a) => ({ tokenId: a.id, logprob: a.logprob })),
  };
}

export function tokenFromWire(t: GeneratedToken | GeneratedTokenInit): SampledToken {
  const top = t.topLogprobs ?? [];
  return {
    id: t.tokenId ?? 0,
    logprob: t.logprob ?? null,
    top: t.logprob === undefined ? null : top.map((a) => ({ id: a.tokenId ?? 0, logprob: a.logprob ?? 0 })),
  };
}

export function finishToWire(r: EngineFinish): FinishReason {
  if (r === 'stop') return FinishReason.STOP;
  if (r === 'length') return FinishReason.LENGTH;
  return FinishReason.ABORT;
}

/** The one error mapping: engine validation → INVALID_REQUEST (with param), typed worker errors → their code. */
export function errorToWire(err: unknown): WireErrorInit {
  if (err instanceof InvalidRequestError) return { code: ErrorCode.INVALID_REQUEST, message: err.message, param: err.param };
  if (err instanceof WorkerError) return { code: err.code, message: err.message };
  return { code: ErrorCode.INTERNAL, message: err instanceof Error ? err.message : String(err) };
}

/** Why a worker takes no new request now: draining, or a model it does not serve (empty = any). */
export function refusalOf(ctx: { work: { draining: boolean }; config: { workerId: string; modelName: string } }, model: string): WireErrorInit | null {
  if (ctx.work.draining) return { code: ErrorCode.UNAVAILABLE, message: `worker ${ctx.config.workerId} is draining` };
  if (model && model !== ctx.config.modelName) return { code: ErrorCode.NOT_FOUND, message: `worker ${ctx.config.workerId} serves ${ctx.config.modelName}, not ${model}`, param: 'model' };
  return null;
}
