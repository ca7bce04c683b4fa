/**
 * Incremental detokenization for streaming: feed generated ids as they come, get back only the
 * new text, never half a UTF-8 character.
 *
 * Byte-level tokens can end inside a multi-byte character, which decodes to U+FFFD. So we decode
 * a short window and hold the text back while it ends in U+FFFD (vLLM's scheme):
 *
 *   ids:  … │ prefixOffset ……… readOffset │ new ids …
 *             └ already emitted ┘
 *   delta = decode(ids[prefix:]) minus decode(ids[prefix:read]), once it does not end in U+FFFD
 *
 * Decoding the already-emitted window again gives the decoder its left context (byte-level and
 * SentencePiece decoders treat a sequence's first token specially), and keeps each step O(window).
 */
import type { DuetTokenizer } from './tokenizer.ts';

const REPLACEMENT = '\uFFFD';

export class IncrementalDetokenizer {
  private readonly ids: number[] = [];
  private prefixOffset = 0;
  private readOffset = 0;

  constructor(
    private readonly tokenizer: Pick<DuetTokenizer, 'decode'>,
    private readonly options: { skipSpecialTokens?: boolean } = {},
  ) {}

  /** Append newly generated id(s); returns the text they complete (possibly ''). */
  push(newIds: number | readonly number[]): string {
    if (typeof newIds === 'number') this.ids.push(newIds);
    else for (const id of newIds) this.ids.push(id);
    return this.emit(false);
  }

  /** End of stream: return whatever is held back, incomplete characters included. */
  flush(): string {
    return this.emit(true);
  }

  /** All ids pushed so far. */
  get tokenIds(): readonly number[] {
    return this.ids;
  }

  private decode(from: number, to: number): string {
    return this.tokenizer.decode(this.ids.slice(from, to), { skipSpecialTokens: this.options.skipSpecialTokens });
  }

  private emit(final: boolean): string {
    const prefixText = this.decode(this.prefixOffset, this.readOffset);
    const fullText = this.decode(this.prefixOffset, this.ids.length);
    if (fullText.length <= prefixText.length) return '';
    if (!final && fullText.endsWith(REPLACEMENT)) return '';
    this.prefixOffset = this.readOffset;
    this.readOffset = this.ids.length;
    return fullText.slice(prefixText.length);
  }
}
