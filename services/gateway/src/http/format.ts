/**
 * OpenAI response shapes of the two generation endpoints, streamed (`chat.completion.chunk`,
 * `text_completion`) and whole (`chat.completion`, `text_completion`).
 */
import type { BackendUsage } from '../backend/types.ts';
import type { TokenInfo } from './choices.ts';

export interface CollectedChoice {
  text: string;
  tokens: TokenInfo[];
  finishReason: 'stop' | 'length' | null;
}

export interface OpenAiUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

export function openAiUsage(promptTokens: number, perChoice: readonly BackendUsage[]): OpenAiUsage {
  const completion = perChoice.reduce((s, u) => s + u.completionTokens, 0);
  // The prompt is counted once; its cached part is the best any choice found.
  const cached = perChoice.reduce((m, u) => Math.max(m, u.cachedTokens), 0);
  return { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion, prompt_tokens_details: { cached_tokens: cached } };
}

export interface ResponseFormat {
  streamObject: string;
  finalObject: string;
  /** A choice's first streamed chunk (chat: the assistant role), or null. */
  opening(index: number): object | null;
  /** A streamed piece of text; `offset` is the choice's text length before it. */
  delta(index: number, text: string, tokens: TokenInfo[], offset: number, logprobs: boolean): object;
  closing(index: number, finishReason: string): object;
  whole(index: number, c: CollectedChoice, logprobs: boolean): object;
}

const bytesOf = (s: string): number[] => [...Buffer.from(s, 'utf8')];

function chatLogprobs(tokens: readonly TokenInfo[]): { content: object[] } {
  return {
    content: tokens.map((t) => ({
      token: t.text,
      logprob: t.logprob,
      bytes: bytesOf(t.text),
      top_logprobs: (t.top ?? []).map((a) => ({ token: a.text, logprob: a.logprob, bytes: bytesOf(a.text) })),
    })),
  };
}

/** Legacy completions logprobs; `text_offset` counts characters of the completion text. */
function completionLogprobs(tokens: readonly TokenInfo[], offset: number): object {
  const text_offset: number[] = [];
  let at = offset;
  for (const t of tokens) {
    text_offset.push(at);
    at += t.text.length;
  }
  return {
    tokens: tokens.map((t) => t.text),
    token_logprobs: tokens.map((t) => t.logprob),
    top_logprobs: tokens.map((t) => Object.fromEntries((t.top ?? []).map((a) => [a.text, a.logprob]))),
    text_offset,
  };
}

export const chatFormat: ResponseFormat = {
  streamObject: 'chat.completion.chunk',
  finalObject: 'chat.completion',
  opening: (index) => ({ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }),
  delta: (index, text, tokens, _offset, logprobs) => ({ index, delta: { content: text }, logprobs: logprobs ? chatLogprobs(tokens) : null, finish_reason: null }),
  closing: (index, finishReason) => ({ index, delta: {}, logprobs: null, finish_reason: finishReason }),
  whole: (index, c, logprobs) => ({
    index,
    message: { role: 'assistant', content: c.text, refusal: null },
    logprobs: logprobs ? chatLogprobs(c.tokens) : null,
    finish_reason: c.finishReason,
  }),
};

export const completionFormat: ResponseFormat = {
  streamObject: 'text_completion',
  finalObject: 'text_completion',
  opening: () => null,
  delta: (index, text, tokens, offset, logprobs) => ({ index, text, logprobs: logprobs ? completionLogprobs(tokens, offset) : null, finish_reason: null }),
  closing: (index, finishReason) => ({ index, text: '', logprobs: null, finish_reason: finishReason }),
  whole: (index, c, logprobs) => ({ index, text: c.text, logprobs: logprobs ? completionLogprobs(c.tokens, 0) : null, finish_reason: c.finishReason }),
};
