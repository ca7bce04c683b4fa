/**
 * Request bodies of the OpenAI endpoints, validated with zod. Unknown fields are ignored (as vLLM
 * does); known fields of the wrong type or out of range are a 400 naming the field.
 */
import { z } from 'zod';

export const MAX_N = 16;
export const MAX_STOP_STRINGS = 4;
export const MAX_TOP_LOGPROBS = 20;

const positiveInt = z.number().int().min(1);
const samplingFields = {
  model: z.string().min(1),
  max_tokens: positiveInt.nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  seed: z.number().int().min(0).max(0xffffffff).nullish(),
  stop: z.union([z.string().min(1), z.array(z.string().min(1)).max(MAX_STOP_STRINGS)]).nullish(),
  n: z.number().int().min(1).max(MAX_N).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  user: z.string().nullish(),
};

const textPart = z.object({ type: z.literal('text'), text: z.string() });
const message = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: z.union([z.string(), z.array(textPart)]).nullish(),
  name: z.string().nullish(),
});

export const chatRequestSchema = z.object({
  ...samplingFields,
  messages: z.array(message).min(1),
  max_completion_tokens: positiveInt.nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(MAX_TOP_LOGPROBS).nullish(),
});

export const completionRequestSchema = z.object({
  ...samplingFields,
  prompt: z.union([z.string().min(1), z.array(z.number().int().min(0)).min(1)]),
  logprobs: z.number().int().min(0).max(MAX_TOP_LOGPROBS).nullish(),
});

export type ChatRequest = z.output<typeof chatRequestSchema>;
export type CompletionRequest = z.output<typeof completionRequestSchema>;

/** A message's text: a string, or its text parts joined. */
export function messageText(m: ChatRequest['messages'][number]): string {
  if (m.content === null || m.content === undefined) return '';
  return typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join('');
}
