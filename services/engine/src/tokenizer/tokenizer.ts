/**
 * DuetTokenizer: a Hugging Face tokenizer folder (tokenizer.json + tokenizer_config.json, and
 * config.json / generation_config.json for end-of-sequence ids) behind one small interface.
 * Tokenization is @huggingface/tokenizers; chat templates are rendered with @huggingface/jinja.
 *
 * A rendered chat template already contains the BOS text, so the gateway encodes it with
 * `addSpecialTokens: false` (otherwise BOS would appear twice).
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as hfTokenizers from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';
import { ModelLoadError } from '../model/errors.ts';
import { IncrementalDetokenizer } from './detokenizer.ts';

/**
 * The slice of @huggingface/tokenizers we use. Its bundled .d.ts re-exports with extensionless
 * paths that NodeNext cannot resolve, so the class is typed here once.
 */
interface HfTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[] };
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
  token_to_id(token: string): number | undefined;
  id_to_token(id: number): string | undefined;
  get_vocab(withAddedTokens?: boolean): Map<string, number>;
  get_added_tokens_decoder(): Map<number, { special: boolean }>;
}
const Tokenizer = (hfTokenizers as unknown as { Tokenizer: new (json: object, config: object) => HfTokenizer }).Tokenizer;

export interface ChatMessage {
  role: string;
  content: string;
}

export interface DuetTokenizer {
  /** Number of ids (model vocab + added tokens); ids are in [0, vocabSize). */
  readonly vocabSize: number;
  readonly bosTokenId: number | null;
  /** Any of these ends generation (tokenizer eos, config.json and generation_config.json). */
  readonly eosTokenIds: readonly number[];
  /** `addSpecialTokens` (default true) applies the post-processor, e.g. prepends BOS. */
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
  /** Render the chat template; `addGenerationPrompt` (default false, as in transformers) opens the assistant turn. */
  applyChatTemplate(messages: readonly ChatMessage[], options?: { addGenerationPrompt?: boolean }): string;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  isSpecial(id: number): boolean;
  /** A fresh incremental decoder for one stream of generated ids. */
  streamDecoder(options?: { skipSpecialTokens?: boolean }): IncrementalDetokenizer;
}

type Json = Record<string, unknown>;

async function readJson(path: string, optional: boolean): Promise<Json | null> {
  if (optional && !existsSync(path)) return null;
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Json;
  } catch (cause) {
    throw new ModelLoadError(`${path}: cannot read tokenizer file (${(cause as Error).message})`, { file: path }, { cause });
  }
}

/** `bos_token` / `eos_token` may be a string or an AddedToken object `{content}`. */
function tokenText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return null;
}

function ids(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  return Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number') : [];
}

/** chat_template: a string, a list of named templates (use "default"), or chat_template.jinja. */
async function chatTemplateSource(dir: string, cfg: Json): Promise<string | null> {
  const t = cfg.chat_template;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = (t as { name?: string; template?: string }[]).find((x) => x.name === 'default');
    if (named?.template) return named.template;
  }
  const file = join(dir, 'chat_template.jinja');
  return existsSync(file) ? readFile(file, 'utf8') : null;
}

/** Size of the id space: one past the largest id (a vocabulary may have gaps). */
function idSpace(vocab: Map<string, number>): number {
  let max = -1;
  for (const id of vocab.values()) if (id > max) max = id;
  return Math.max(vocab.size, max + 1);
}

/** Load the tokenizer of a model folder. */
export async function loadTokenizer(dir: string): Promise<DuetTokenizer> {
  const tokenizerJson = (await readJson(join(dir, 'tokenizer.json'), false))!;
  const cfg = (await readJson(join(dir, 'tokenizer_config.json'), true)) ?? {};
  const modelCfg = await readJson(join(dir, 'config.json'), true);
  const genCfg = await readJson(join(dir, 'generation_config.json'), true);
  const tok = new Tokenizer(tokenizerJson, cfg);
  const bosText = tokenText(cfg.bos_token);
  const eosText = tokenText(cfg.eos_token);
  const idOf = (text: string | null): number[] => {
    const id = text === null ? undefined : tok.token_to_id(text);
    return id === undefined ? [] : [id];
  };
  const vocab = tok.get_vocab(true);
  const special = new Set([...tok.get_added_tokens_decoder()].filter(([, t]) => t.special).map(([id]) => id));
  const templateSource = await chatTemplateSource(dir, cfg);
  let template: Template | null = null;
  // The library rejects an empty list; an empty stream is simply no text.
  const decode: DuetTokenizer['decode'] = (list, o) =>
    list.length === 0 ? '' : tok.decode([...list], { skip_special_tokens: o?.skipSpecialTokens ?? false });
  const eosTokenIds = [...new Set([...ids(modelCfg?.eos_token_id), ...ids(genCfg?.eos_token_id), ...idOf(eosText)])];
  return {
    vocabSize: idSpace(vocab),
    bosTokenId: idOf(bosText)[0] ?? ids(modelCfg?.bos_token_id)[0] ?? null,
    eosTokenIds,
    encode: (text, o) => tok.encode(text, { add_special_tokens: o?.addSpecialTokens ?? true }).ids,
    decode,
    applyChatTemplate(messages, o) {
      if (templateSource === null) throw new ModelLoadError(`${dir}: the tokenizer has no chat_template`, { file: join(dir, 'tokenizer_config.json') });
      template ??= new Template(templateSource);
      return template.render({
        messages,
        add_generation_prompt: o?.addGenerationPrompt ?? false,
        bos_token: bosText ?? '',
        eos_token: eosText ?? '',
      });
    },
    tokenToId: (token) => tok.token_to_id(token),
    idToToken: (id) => tok.id_to_token(id),
    isSpecial: (id) => special.has(id),
    streamDecoder: (o) => new IncrementalDetokenizer({ decode }, o),
  };
}
