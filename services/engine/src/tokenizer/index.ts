export { loadTokenizer, type ChatMessage, type DuetTokenizer } from './tokenizer.ts';
export { IncrementalDetokenizer } from './detokenizer.ts';
