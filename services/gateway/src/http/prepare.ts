/**
 * From a validated OpenAI body to what the backend runs: the served model, prompt ids (chat
 * template + encode for chat), max tokens checked against the context, and per-choice sampling.
 */
import { randomInt } from 'node:crypto';
import { hashPromptBlocks } from '@duet/engine';
import type { BackendRequest } from '../backend/types.ts';
import type { ModelRegistry, ServedModel } from '../models.ts';
import { ApiError, invalid } from './errors.ts';
import { messageText, type ChatRequest, type CompletionRequest } from './schemas.ts';

/** OpenAI's default `max_tokens` for /v1/completions; chat defaults to the rest of the context. */
export const COMPLETIONS_DEFAULT_MAX_TOKENS = 16;

export interface Prepared {
  model: ServedModel;
  promptIds: number[];
  maxTokens: number;
  temperature: number;
  topP: number;
  /** Choice i samples with seed + i. */
  seed: number;
  n: number;
  stops: string[];
  stream: boolean;
  includeUsage: boolean;
  /** Alternatives per token, or null when logprobs were not asked for. */
  logprobs: number | null;
}

export function resolveModel(models: ModelRegistry, id: string): ServedModel {
  const m = models.get(id);
  if (!m) throw new ApiError(404, 'not_found_error', `The model \`${id}\` does not exist`, 'model', 'model_not_found');
  return m;
}

function checkContext(model: ServedModel, promptLen: number, maxTokens: number | null, param: string, dflt: number): number {
  const room = model.contextLength - promptLen;
  if (room < 1) throw invalid(`the prompt has ${promptLen} tokens; the model's context is ${model.contextLength}`, param, 'context_length_exceeded');
  const mt = maxTokens ?? Math.min(dflt, room);
  if (promptLen + mt > model.contextLength) {
    throw invalid(`prompt (${promptLen} tokens) + max_tokens (${mt}) exceeds the model's context of ${model.contextLength} tokens`, param, 'context_length_exceeded');
  }
  return mt;
}

type Common = Pick<ChatRequest, 'temperature' | 'top_p' | 'seed' | 'stop' | 'n' | 'stream' | 'stream_options'>;

function common(b: Common): Omit<Prepared, 'model' | 'promptIds' | 'maxTokens' | 'logprobs'> {
  const stops = b.stop === null || b.stop === undefined ? [] : typeof b.stop === 'string' ? [b.stop] : b.stop;
  return {
    temperature: b.temperature ?? 1,
    topP: b.top_p ?? 1,
    // No seed: a random one per request, so repeated calls differ as they do with OpenAI.
    seed: b.seed ?? randomInt(0, 0xffffffff),
    n: b.n ?? 1,
    stops,
    stream: b.stream ?? false,
    includeUsage: (b.stream ?? false) && (b.stream_options?.include_usage ?? false),
  };
}

export function prepareChat(models: ModelRegistry, b: ChatRequest): Prepared {
  const model = resolveModel(models, b.model);
  const messages = b.messages.map((m) => ({ role: m.role, content: messageText(m) }));
  const text = model.tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
  // The template already holds BOS: no special tokens added on encode.
  const promptIds = model.tokenizer.encode(text, { addSpecialTokens: false });
  const asked = b.max_completion_tokens ?? b.max_tokens ?? null;
  const maxTokens = checkContext(model, promptIds.length, asked, 'messages', model.contextLength);
  const logprobs = b.logprobs ? (b.top_logprobs ?? 0) : null;
  if (!b.logprobs && b.top_logprobs !== null && b.top_logprobs !== undefined) throw invalid('top_logprobs requires logprobs: true', 'top_logprobs');
  return { model, promptIds, maxTokens, logprobs, ...common(b) };
}

export function prepareCompletion(models: ModelRegistry, b: CompletionRequest): Prepared {
  const model = resolveModel(models, b.model);
  const promptIds = typeof b.prompt === 'string' ? model.tokenizer.encode(b.prompt) : b.prompt;
  const bad = promptIds.findIndex((t) => t >= model.tokenizer.vocabSize);
  if (bad >= 0) throw invalid(`prompt token ${bad} (${promptIds[bad]}) is not a token id of ${model.id}`, 'prompt');
  const maxTokens = checkContext(model, promptIds.length, b.max_tokens ?? null, 'prompt', COMPLETIONS_DEFAULT_MAX_TOKENS);
  return { model, promptIds, maxTokens, logprobs: b.logprobs ?? null, ...common(b) };
}

/** The backend request of choice `index`. */
export function backendRequest(p: Prepared, requestId: string, index: number, hashSalt: string): BackendRequest {
  return {
    requestId: p.n === 1 ? requestId : `${requestId}-${index}`,
    model: p.model.id,
    promptIds: p.promptIds,
    hashSalt,
    blockHashes: hashPromptBlocks(p.promptIds, p.model.blockSize, hashSalt),
    sampling: {
      temperature: p.temperature,
      topP: p.topP,
      seed: (p.seed + index) >>> 0,
      maxTokens: p.maxTokens,
      stopTokenIds: [...p.model.tokenizer.eosTokenIds],
      logprobs: p.logprobs,
    },
  };
}
