/**
 * Id layout of the vocabularies Duet generates (byte-level BPE, GPT-2 / Llama-3 style):
 *
 *   0 ........ 255 | 256 ....... code | ... math | ... legal | ... biology | V-5 .. V-1
 *   one per byte   | 4 domain blocks, contiguous, ≈ (V-261)/4 each        | special tokens
 *
 * Every domain token is a word prefix `Ġ<letters>` (Ġ = the byte-level space) whose first letter
 * is one of the domain's onset letters. Onsets are disjoint across domains, so no token belongs to
 * two domains. Each domain's tokens form a prefix tree: the seed words first (so ` matrix` is
 * one token), then pseudo-words of onset+vowel syllables in breadth-first order until the
 * domain's block is full. Each token t (2+ chars) is produced by exactly one merge
 * [t minus its last char, last char], so a word in the tree always encodes to one token.
 */

export type DomainName = 'code' | 'math' | 'legal' | 'biology';

export interface TokenDomainSpec {
  name: DomainName;
  /** Letters a domain word may start with; disjoint across domains. */
  onsets: readonly string[];
  /** Real words of the domain, each starting with one of its onsets. */
  words: readonly string[];
}

const VOWELS = ['a', 'e', 'i', 'o', 'u'];

export const TOKEN_DOMAINS: readonly TokenDomainSpec[] = [
  {
    name: 'code',
    onsets: ['c', 'k', 'j', 'q', 'x'],
    words: ['const', 'class', 'catch', 'compile', 'callback', 'closure', 'cache', 'commit', 'cursor', 'kernel', 'json', 'java', 'queue', 'query', 'xor'],
  },
  {
    name: 'math',
    onsets: ['m', 't', 'g', 'v', 'z'],
    words: ['matrix', 'theorem', 'tensor', 'vector', 'gradient', 'group', 'zero', 'topology', 'modulo', 'mean', 'variance', 'manifold', 'torus', 'tangent', 'measure'],
  },
  {
    name: 'legal',
    onsets: ['l', 'p', 'w', 'h', 'f'],
    words: ['law', 'lawsuit', 'plaintiff', 'party', 'patent', 'precedent', 'warrant', 'witness', 'hearing', 'felony', 'filing', 'fiduciary', 'liability', 'habeas', 'probate'],
  },
  {
    name: 'biology',
    onsets: ['b', 'r', 's', 'n', 'd'],
    words: ['bacteria', 'ribosome', 'receptor', 'synapse', 'neuron', 'nucleus', 'species', 'sequence', 'dna', 'biome', 'rna', 'dendrite', 'nitrogen', 'symbiosis', 'biology'],
  },
];

/** Llama-3 names; ids are the last `SPECIAL_TOKENS.length` of the vocabulary, in this order. */
export const SPECIAL_TOKENS = ['<|begin_of_text|>', '<|end_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'] as const;
export type SpecialToken = (typeof SPECIAL_TOKENS)[number];

export const NUM_BYTE_TOKENS = 256;
/** Byte-level BPE's stand-in for the space byte (0x20 → U+0120). */
export const SPACE_MARK = 'Ġ';

/** Smallest vocabulary that leaves each domain at least its onset tokens. */
export const MIN_VOCAB_SIZE = NUM_BYTE_TOKENS + SPECIAL_TOKENS.length + 4 * 5;

export interface DomainBlock {
  name: DomainName;
  index: number;
  /** First id of the block. */
  firstId: number;
  /** One past the last id. */
  endId: number;
}

/** The contiguous id block of each domain for a vocabulary of `vocabSize` tokens. */
export function domainBlocks(vocabSize: number): DomainBlock[] {
  if (!Number.isInteger(vocabSize) || vocabSize < MIN_VOCAB_SIZE) {
    throw new Error(`vocab size ${vocabSize} is below the minimum ${MIN_VOCAB_SIZE} for a generated tokenizer`);
  }
  const merges = vocabSize - NUM_BYTE_TOKENS - SPECIAL_TOKENS.length;
  const base = Math.floor(merges / TOKEN_DOMAINS.length);
  const extra = merges % TOKEN_DOMAINS.length;
  let next = NUM_BYTE_TOKENS;
  return TOKEN_DOMAINS.map((d, index) => {
    const count = base + (index < extra ? 1 : 0);
    const block = { name: d.name, index, firstId: next, endId: next + count };
    next += count;
    return block;
  });
}

/** The `count` token strings (byte-level form, `Ġ…`) of one domain, parents before children. */
export function domainTokenStrings(spec: TokenDomainSpec, count: number): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (word: string): void => {
    const token = SPACE_MARK + word;
    if (out.length < count && !seen.has(token)) {
      seen.add(token);
      out.push(token);
    }
  };
  for (const w of spec.words) for (let k = 1; k <= w.length; k++) add(w.slice(0, k));
  // Breadth-first over syllables: after a vowel comes an onset, after anything else a vowel.
  let frontier = [...spec.onsets];
  frontier.forEach(add);
  while (out.length < count) {
    const next: string[] = [];
    for (const s of frontier) {
      const letters = VOWELS.includes(s[s.length - 1]) ? spec.onsets : VOWELS;
      for (const c of letters) {
        add(s + c);
        next.push(s + c);
      }
    }
    frontier = next;
  }
  return out;
}
