/**
 * Builds the tokenizer of a generated model: a real byte-level BPE `tokenizer.json` (GPT-2 /
 * Llama-3 style: ByteLevel pre-tokenizer with the GPT-2 split regex, ByteLevel decoder, 256 byte
 * tokens, merges, Llama-3 special tokens, BOS prepended by a TemplateProcessing post-processor)
 * whose vocabulary has exactly `vocabSize` entries, plus `tokenizer_config.json` with a
 * Llama-3 chat template. The id layout is defined in vocab.ts.
 */
import {
  SPECIAL_TOKENS,
  TOKEN_DOMAINS,
  domainBlocks,
  domainTokenStrings,
  type SpecialToken,
} from './vocab.ts';

/** Llama-3 instruct's chat template (bos once, header/eot framing, optional assistant header). */
export const CHAT_TEMPLATE =
  "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";

/**
 * GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 upwards, so
 * every byte is one visible character (space → Ġ, newline → Ċ).
 */
export function byteToUnicode(): string[] {
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = [];
  let shifted = 0;
  for (let b = 0; b < 256; b++) out.push(String.fromCodePoint(printable(b) ? b : 256 + shifted++));
  return out;
}

/** Id of a special token in a generated vocabulary of `vocabSize`. */
export function specialTokenId(vocabSize: number, token: SpecialToken): number {
  return vocabSize - SPECIAL_TOKENS.length + SPECIAL_TOKENS.indexOf(token);
}

/** Vocabulary (token → id, id order) and merges (rank order) of the BPE model. */
function buildBpe(vocabSize: number): { vocab: Record<string, number>; merges: string[] } {
  const vocab: Record<string, number> = {};
  byteToUnicode().forEach((ch, id) => (vocab[ch] = id));
  const merges: string[] = [];
  for (const block of domainBlocks(vocabSize)) {
    const tokens = domainTokenStrings(TOKEN_DOMAINS[block.index], block.endId - block.firstId);
    tokens.forEach((t, i) => {
      vocab[t] = block.firstId + i;
      // 'Ġ' and letters are single UTF-16 units, so slicing by unit splits by byte-level char.
      if (t.length >= 2) merges.push(`${t.slice(0, -1)} ${t.slice(-1)}`);
    });
  }
  if (Object.keys(vocab).length !== vocabSize - SPECIAL_TOKENS.length) {
    throw new Error(`generated BPE vocab has ${Object.keys(vocab).length} entries, expected ${vocabSize - SPECIAL_TOKENS.length}`);
  }
  return { vocab, merges };
}

/** The `tokenizer.json` object for a generated vocabulary of exactly `vocabSize` tokens. */
export function buildTokenizerJson(vocabSize: number): Record<string, unknown> {
  const { vocab, merges } = buildBpe(vocabSize);
  const bos = SPECIAL_TOKENS[0];
  const bosId = specialTokenId(vocabSize, bos);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content) => ({
      id: specialTokenId(vocabSize, content),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: bos, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: bos, type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { [bos]: { id: bos, ids: [bosId], tokens: [bos] } },
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

/** The `tokenizer_config.json` object: special tokens, BOS policy, chat template. */
export function buildTokenizerConfig(vocabSize: number, maxLength: number): Record<string, unknown> {
  const addedTokensDecoder = Object.fromEntries(
    SPECIAL_TOKENS.map((content) => [
      String(specialTokenId(vocabSize, content)),
      { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true },
    ]),
  );
  return {
    added_tokens_decoder: addedTokensDecoder,
    add_bos_token: true,
    add_eos_token: false,
    bos_token: '<|begin_of_text|>',
    eos_token: '<|eot_id|>',
    chat_template: CHAT_TEMPLATE,
    // Cleanup would turn " ." into "." and break the encode → decode round trip.
    clean_up_tokenization_spaces: false,
    model_input_names: ['input_ids', 'attention_mask'],
    model_max_length: maxLength,
    tokenizer_class: 'PreTrainedTokenizerFast',
  };
}
