/**
 * `duet demo` (what `npm start` runs until the disaggregated platform lands): a one-process chat on
 * the demo model. The first run creates the model (the `small` llama preset, seed 0) in the cache
 * folder ($DUET_CACHE_DIR, default ~/.cache/duet). Reads one user message per line from stdin;
 * Ctrl-D (end of input) or Ctrl-C quits. The weights are random, so the replies are gibberish —
 * the demo shows the path (chat template → tokenizer → engine → streaming detokenizer), not a model.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { BACKEND_NAMES, ensureModel, GENERATOR_VERSION } from '@duet/engine';
import { oneOf, optionalNumber, parseFlags } from '../args.ts';
import { loadRuntime, runToCompletion } from './runtime.ts';

export function cacheDir(): string {
  return process.env.DUET_CACHE_DIR ?? join(homedir(), '.cache', 'duet');
}

/** The demo model folder, created on first use. */
export async function ensureDemoModel(): Promise<string> {
  const dir = join(cacheDir(), 'models', `demo-llama-small-s0-g${GENERATOR_VERSION}`);
  if (!existsSync(join(dir, 'config.json'))) console.log(`creating the demo model in ${dir} …`);
  return ensureModel({ arch: 'llama', preset: 'small', seed: 0, outDir: dir });
}

export async function demo(argv: string[]): Promise<number> {
  const v = parseFlags(argv, { model: { type: 'string' }, backend: { type: 'string' }, 'max-tokens': { type: 'string' } });
  const modelDir = v.model ? resolve(String(v.model)) : await ensureDemoModel();
  const backend = oneOf(v, 'backend', BACKEND_NAMES, 'wasm');
  const maxTokens = optionalNumber(v, 'max-tokens', { integer: true }) ?? 48;
  const { engine, tokenizer } = await loadRuntime(modelDir, backend);
  console.log(`Duet chat demo — model ${modelDir}, backend ${engine.backend.name}. Type a message; Ctrl-D quits.`);
  const messages: Array<{ role: string; content: string }> = [];
  const rl = createInterface({ input: process.stdin, terminal: false });
  let turn = 0;
  process.stdout.write('> ');
  for await (const line of rl) {
    if (line.trim() === '') {
      process.stdout.write('> ');
      continue;
    }
    messages.push({ role: 'user', content: line });
    const prompt = tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
    const promptIds = tokenizer.encode(prompt, { addSpecialTokens: false });
    const detok = tokenizer.streamDecoder({ skipSpecialTokens: true });
    const t0 = performance.now();
    const { tokens } = runToCompletion(engine, { id: `turn-${turn++}`, promptIds, sampling: { temperature: 0.8, topP: 0.95, seed: turn, maxTokens } }, (t) =>
      process.stdout.write(detok.push(t.id)),
    );
    const secs = (performance.now() - t0) / 1000;
    process.stdout.write(`${detok.flush()}\n[${tokens.length} tokens, ${promptIds.length} prompt tokens, ${(tokens.length / secs).toFixed(1)} tok/s]\n> `);
    messages.push({ role: 'assistant', content: tokenizer.decode(tokens.map((t) => t.id), { skipSpecialTokens: true }) });
  }
  process.stdout.write('\n');
  engine.dispose();
  return 0;
}
