/** `duet generate`: one request through the engine in this process. */
import { resolve } from 'node:path';
import { BACKEND_NAMES, type SampledToken } from '@duet/engine';
import { CliUsageError, intList, oneOf, optionalNumber, parseFlags, requireString } from '../args.ts';
import { loadRuntime, runToCompletion } from './runtime.ts';

export async function generate(argv: string[]): Promise<number> {
  const v = parseFlags(argv, {
    model: { type: 'string' },
    prompt: { type: 'string' },
    'prompt-ids': { type: 'string' },
    'max-tokens': { type: 'string' },
    temperature: { type: 'string' },
    'top-p': { type: 'string' },
    'top-k': { type: 'string' },
    seed: { type: 'string' },
    logprobs: { type: 'string' },
    backend: { type: 'string' },
    chat: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const modelDir = resolve(requireString(v, 'model'));
  const ids = intList(v, 'prompt-ids');
  const text = v.prompt as string | undefined;
  if ((ids === undefined) === (text === undefined)) throw new CliUsageError('give exactly one of --prompt or --prompt-ids');
  const maxTokens = optionalNumber(v, 'max-tokens', { integer: true });
  if (maxTokens === undefined) throw new CliUsageError('--max-tokens is required');
  const backend = oneOf(v, 'backend', BACKEND_NAMES, 'wasm');
  const { engine, tokenizer } = await loadRuntime(modelDir, backend);
  const promptIds = ids ?? (v.chat
    ? tokenizer.encode(tokenizer.applyChatTemplate([{ role: 'user', content: text! }], { addGenerationPrompt: true }), { addSpecialTokens: false })
    : tokenizer.encode(text!, { addSpecialTokens: true }));
  const sampling = {
    maxTokens,
    temperature: optionalNumber(v, 'temperature') ?? 1,
    topP: optionalNumber(v, 'top-p') ?? 1,
    topK: optionalNumber(v, 'top-k', { integer: true }) ?? 0,
    seed: optionalNumber(v, 'seed', { integer: true }) ?? 0,
    logprobs: optionalNumber(v, 'logprobs', { integer: true }) ?? null,
  };
  const stream = !v.json;
  const detok = tokenizer.streamDecoder({ skipSpecialTokens: true });
  const { tokens, finishReason } = runToCompletion(engine, { id: 'cli', promptIds, sampling }, (t: SampledToken) => {
    if (stream) process.stdout.write(detok.push(t.id));
  });
  const outText = tokenizer.decode(tokens.map((t) => t.id), { skipSpecialTokens: true });
  if (stream) process.stdout.write(detok.flush() + '\n');
  else {
    const out: Record<string, unknown> = { prompt_ids: promptIds, tokens: tokens.map((t) => t.id), text: outText, finish_reason: finishReason };
    if (sampling.logprobs !== null) out.logprobs = tokens.map((t) => ({ logprob: t.logprob, top: t.top }));
    console.log(JSON.stringify(out));
  }
  engine.dispose();
  return 0;
}
