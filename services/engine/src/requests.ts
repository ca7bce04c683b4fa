/** Request shapes the engine accepts, and their validation. */
import type { ModelConfig } from './model/types.ts';
import type { KvStoreShape } from './cache/kv-store.ts';
import { makeSamplingParams, SamplingParamsError, type SamplingParams } from './sampling/params.ts';
import type { SampledToken } from './sampling/sampler.ts';
import { InvalidRequestError } from './errors.ts';

export interface EngineRequest {
  id: string;
  promptIds: readonly number[];
  sampling?: Partial<SamplingParams>;
  /** Do not stop at the model's EOS ids (they are added to stopTokenIds otherwise). */
  ignoreEos?: boolean;
  /** Block-hash salt for prefix caching (per tenant); the engine default when absent. */
  salt?: string;
  /** Keep the KV after the request finishes, until `release` (a prefill worker's request). */
  holdKv?: boolean;
}

/**
 * A request prefilled elsewhere, with the tokens that worker already sampled — possibly none yet:
 * the first token may be handed over at `finishImport` instead.
 */
export interface ImportRequest extends EngineRequest {
  generated: SampledToken[];
}

/** Checks ids and lengths against the model and the KV pool; returns complete sampling params. */
export function validateRequest(req: EngineRequest, config: ModelConfig, kv: KvStoreShape): SamplingParams {
  const p = req.promptIds;
  if (p.length === 0) throw new InvalidRequestError('prompt', 'the prompt is empty');
  const bad = p.findIndex((t) => !Number.isInteger(t) || t < 0 || t >= config.vocabSize);
  if (bad >= 0) throw new InvalidRequestError('prompt', `prompt token ${bad} (${p[bad]}) is not an id in 0…${config.vocabSize - 1}`);
  let sampling: SamplingParams;
  try {
    const stop = [...(req.sampling?.stopTokenIds ?? []), ...(req.ignoreEos ? [] : config.eosTokenIds)];
    sampling = makeSamplingParams({ ...req.sampling, stopTokenIds: [...new Set(stop)] });
  } catch (err) {
    if (err instanceof SamplingParamsError) throw new InvalidRequestError(err.param, err.message);
    throw err;
  }
  const ctx = config.maxPositionEmbeddings;
  if (p.length >= ctx) throw new InvalidRequestError('prompt', `prompt has ${p.length} tokens; the model's context is ${ctx}`);
  if (p.length + sampling.maxTokens > ctx) {
    throw new InvalidRequestError('max_tokens', `prompt (${p.length}) + max_tokens (${sampling.maxTokens}) exceeds the model's context of ${ctx} tokens`);
  }
  const blocksNeeded = Math.ceil((p.length + sampling.maxTokens) / kv.blockSize);
  if (blocksNeeded > kv.numBlocks) {
    throw new InvalidRequestError('max_tokens', `prompt + max_tokens needs ${blocksNeeded} KV blocks; the pool has ${kv.numBlocks}`);
  }
  return sampling;
}
