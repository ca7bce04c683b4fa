/**
 * Token domains of generated models, and which MoE experts each domain prefers.
 *
 * Expert assignment (X experts, top-k, 4 domains, m = max(1, ⌊X/4⌋) experts per domain):
 * domain d prefers experts (d·m + j) mod X for j = 0..k-1, with router weight 1 - j/(2k)
 * (the first preferred expert scores highest). For 8 experts / top-2 that is experts 2d (weight 1)
 * and 2d+1 (0.75); for 4 experts / top-2 it is expert d (1) plus the next domain's expert
 * (d+1) mod 4 (0.75), so neighbouring domains share one expert. See docs/models.md.
 */
import { Rng } from './rng.ts';
import { TOKEN_DOMAINS, domainBlocks, type DomainBlock, type DomainName } from './vocab.ts';

export interface TokenDomains {
  vocabSize: number;
  domains: DomainBlock[];
}

/** Domain blocks for a generated vocabulary of `vocabSize` tokens. */
export function tokenDomains(vocabSize: number): TokenDomains {
  return { vocabSize, domains: domainBlocks(vocabSize) };
}

function resolve(source: TokenDomains | { vocabSize: number }): TokenDomains {
  return 'domains' in source ? source : tokenDomains(source.vocabSize);
}

function blockOf(domains: TokenDomains, name: DomainName): DomainBlock {
  const block = domains.domains.find((d) => d.name === name);
  if (!block) throw new Error(`unknown token domain "${name}" (known: ${TOKEN_DOMAINS.map((d) => d.name).join(', ')})`);
  return block;
}

/** The domain holding token `id`, or null for byte and special tokens. */
export function domainOfToken(source: TokenDomains | { vocabSize: number }, id: number): DomainName | null {
  const found = resolve(source).domains.find((d) => id >= d.firstId && id < d.endId);
  return found ? found.name : null;
}

/** All token ids of one domain, ascending. */
export function domainTokenIds(source: TokenDomains | { vocabSize: number }, name: DomainName): number[] {
  const { firstId, endId } = blockOf(resolve(source), name);
  return Array.from({ length: endId - firstId }, (_, i) => firstId + i);
}

/**
 * A prompt of `length` token ids drawn uniformly (with replacement) from one domain; the same
 * seed gives the same prompt. `source` is a DuetTokenizer of a generated model, or TokenDomains.
 */
export function domainPromptIds(
  source: TokenDomains | { vocabSize: number },
  domain: DomainName,
  length: number,
  seed: number,
): number[] {
  const { firstId, endId, index } = blockOf(resolve(source), domain);
  const rng = new Rng(seed, 0x5eed + index);
  return Array.from({ length }, () => firstId + rng.int(endId - firstId));
}

/** Preferred experts of domain `index` with their router weights (see the file comment). */
export function domainExperts(index: number, numExperts: number, topK: number): { expert: number; weight: number }[] {
  const perDomain = Math.max(1, Math.floor(numExperts / TOKEN_DOMAINS.length));
  const k = Math.min(topK, numExperts);
  return Array.from({ length: k }, (_, j) => ({
    expert: (index * perDomain + j) % numExperts,
    weight: 1 - j / (2 * k),
  }));
}
