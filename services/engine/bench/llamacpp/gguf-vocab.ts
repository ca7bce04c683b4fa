/**
 * Tokenizer metadata of a GGUF, as llama.cpp's convert_hf_to_gguf.py writes it for a byte-level BPE
 * `tokenizer.json` (`_set_vocab_gpt2` + `gguf.SpecialVocab`):
 *
 *   tokenizer.ggml.model       "gpt2"  (byte-level BPE with merges)
 *   tokenizer.ggml.pre         pre-tokenizer regex family, see PRE_TOKENIZER
 *   tokenizer.ggml.tokens      [V] strings in id order (ids with no token: "[PAD<id>]", type UNUSED)
 *   tokenizer.ggml.token_type  [V] i32: NORMAL, or CONTROL for special added tokens
 *   tokenizer.ggml.merges      "left right" strings in rank order
 *   tokenizer.ggml.bos_token_id / eos_token_id (u32), add_bos_token / add_eos_token (bool)
 *   tokenizer.chat_template
 *
 * llama.cpp refuses a vocabulary shorter than the model's vocab size, so `tokens` always has
 * exactly `vocabSize` entries.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { gguf, type GgufMetadata } from './gguf-writer.ts';

/**
 * Our tokenizer.json pre-tokenizes with the GPT-2 split regex (ByteLevel, use_regex); llama.cpp's
 * "gpt-2" pre-type (LLAMA_VOCAB_PRE_TYPE_GPT2) uses that same regex. ("llama-bpe" is Llama-3's
 * regex: case-insensitive contractions and 1–3 digit number groups; "default" adds extra splits.)
 * convert_hf_to_gguf.py picks this by hashing the tokenizer's output on a test text; our generated
 * tokenizer is not in its table, so the choice is made here by the regex.
 */
export const PRE_TOKENIZER = 'gpt-2';

/** llama.cpp `llama_token_type` / gguf-py `TokenType`. */
export const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

interface AddedToken {
  id: number;
  content: string;
  special: boolean;
}

interface TokenizerJson {
  added_tokens?: AddedToken[];
  model: { type: string; vocab: Record<string, number>; merges: (string | [string, string])[] };
}

type Json = Record<string, unknown>;

async function readJson<T>(path: string): Promise<T | null> {
  return existsSync(path) ? (JSON.parse(await readFile(path, 'utf8')) as T) : null;
}

/** Tokens and their types in id order, padded to `vocabSize`. */
export function vocabTokens(tok: TokenizerJson, vocabSize: number): { tokens: string[]; types: Int32Array } {
  const tokens = Array.from({ length: vocabSize }, (_, i) => `[PAD${i}]`);
  const types = new Int32Array(vocabSize).fill(TOKEN_TYPE.unused);
  const put = (content: string, id: number, type: number): void => {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new Error(`tokenizer.json: token ${JSON.stringify(content)} has id ${id}, outside the model's vocab of ${vocabSize}`);
    }
    tokens[id] = content;
    types[id] = type;
  };
  for (const [content, id] of Object.entries(tok.model.vocab)) put(content, id, TOKEN_TYPE.normal);
  // Added tokens are written as-is (they are not normalized in our tokenizer.json).
  for (const a of tok.added_tokens ?? []) put(a.content, a.id, a.special ? TOKEN_TYPE.control : TOKEN_TYPE.userDefined);
  return { tokens, types };
}

/** Merges as "left right" strings (tokenizer.json has either form). */
export function mergeStrings(tok: TokenizerJson): string[] {
  return tok.model.merges.map((m) => (Array.isArray(m) ? `${m[0]} ${m[1]}` : m));
}

/** `tokenizer_config.json`'s `bos_token`/`eos_token` may be a string or an AddedToken object. */
function tokenName(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return null;
}

/**
 * Special ids as SpecialVocab resolves them: tokenizer_config.json's token names first, then
 * config.json's `*_token_id` for any still missing.
 */
function specialIds(tok: TokenizerJson, tokConfig: Json | null, config: Json): { bos: number | null; eos: number | null } {
  const byName = new Map<string, number>(Object.entries(tok.model.vocab));
  for (const a of tok.added_tokens ?? []) byName.set(a.content, a.id);
  const pick = (key: 'bos' | 'eos'): number | null => {
    const name = tokenName(tokConfig?.[`${key}_token`]);
    if (name !== null && byName.has(name)) return byName.get(name)!;
    const id = config[`${key}_token_id`];
    if (typeof id === 'number') return id;
    return Array.isArray(id) && typeof id[0] === 'number' ? id[0] : null;
  };
  return { bos: pick('bos'), eos: pick('eos') };
}

/** Adds every `tokenizer.*` key for the model folder `dir` to `meta`. */
export async function addTokenizerMetadata(meta: GgufMetadata, dir: string, vocabSize: number): Promise<void> {
  const tok = await readJson<TokenizerJson>(join(dir, 'tokenizer.json'));
  if (!tok || tok.model?.type !== 'BPE') throw new Error(`${dir}: needs a byte-level BPE tokenizer.json to convert to GGUF`);
  const tokConfig = await readJson<Json>(join(dir, 'tokenizer_config.json'));
  const config = (await readJson<Json>(join(dir, 'config.json'))) ?? {};
  const { tokens, types } = vocabTokens(tok, vocabSize);
  meta.set('tokenizer.ggml.model', gguf.str('gpt2'));
  meta.set('tokenizer.ggml.pre', gguf.str(PRE_TOKENIZER));
  meta.set('tokenizer.ggml.tokens', gguf.strings(tokens));
  meta.set('tokenizer.ggml.token_type', gguf.i32s(types));
  meta.set('tokenizer.ggml.merges', gguf.strings(mergeStrings(tok)));
  const { bos, eos } = specialIds(tok, tokConfig, config);
  if (bos !== null) meta.set('tokenizer.ggml.bos_token_id', gguf.u32(bos));
  if (eos !== null) meta.set('tokenizer.ggml.eos_token_id', gguf.u32(eos));
  if (typeof tokConfig?.add_bos_token === 'boolean') meta.set('tokenizer.ggml.add_bos_token', gguf.bool(tokConfig.add_bos_token));
  if (typeof tokConfig?.add_eos_token === 'boolean') meta.set('tokenizer.ggml.add_eos_token', gguf.bool(tokConfig.add_eos_token));
  if (typeof tokConfig?.chat_template === 'string') meta.set('tokenizer.chat_template', gguf.str(tokConfig.chat_template));
}
