/**
 * MoE domain mix for the domain-structured generated MoE models (docs/models.md, "MoE domain
 * structure"): each prompt is drawn from one token domain (code, math, legal, biology), and a
 * domain's prompts route to that domain's experts in every layer. The mix weights set how often
 * each domain occurs; requests are labelled with their domain, so the report can split by it.
 * Token ids come from `domainPromptIds` of @duet/engine, which needs the model's vocab size.
 */
import { TOKEN_DOMAINS, domainPromptIds, type DomainName } from '@duet/engine';
import { Rng } from './rng.ts';
import { WorkloadError, type Workload } from './types.ts';

export const DOMAIN_NAMES: readonly DomainName[] = TOKEN_DOMAINS.map((d) => d.name);

export interface MoeDomainOptions {
  requests: number;
  promptTokens: number;
  maxTokens: number;
  vocabSize: number;
  /** Relative weight per domain; domains left out get 0. Default: all equal. */
  mix?: Partial<Record<DomainName, number>>;
  seed?: number;
}

/** "code=3,math=1" → weights; names must be token domains, weights ≥ 0 and not all 0. */
export function parseDomainMix(spec: string): Partial<Record<DomainName, number>> {
  const mix: Partial<Record<DomainName, number>> = {};
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, w] = part.split('=');
    if (!DOMAIN_NAMES.includes(name as DomainName)) throw new WorkloadError(`domain mix: unknown domain "${name}" (known: ${DOMAIN_NAMES.join(', ')})`);
    const weight = w === undefined ? 1 : Number(w);
    if (!(weight >= 0)) throw new WorkloadError(`domain mix: weight of ${name} must be a number ≥ 0, got "${w}"`);
    mix[name as DomainName] = weight;
  }
  return mix;
}

/** Index i with u in [w0 + … + w(i−1), w0 + … + wi); rounding past the end picks the last weighted one. */
function pick(weights: readonly number[], u: number): number {
  let last = 0;
  for (let i = 0; i < weights.length; i++) {
    if (weights[i] === 0) continue;
    if (u < weights[i]) return i;
    u -= weights[i];
    last = i;
  }
  return last;
}

export function moeDomainWorkload(o: MoeDomainOptions): Workload {
  for (const k of ['requests', 'promptTokens', 'maxTokens'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new WorkloadError(`${k} must be a positive integer, got ${o[k]}`);
  }
  const weights = DOMAIN_NAMES.map((d) => (o.mix ? (o.mix[d] ?? 0) : 1));
  const total = weights.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new WorkloadError('domain mix: at least one domain needs a weight > 0');
  const seed = o.seed ?? 0;
  const rng = new Rng(seed, 0xd0);
  const requests = Array.from({ length: o.requests }, (_, i) => {
    const domain = DOMAIN_NAMES[pick(weights, rng.next() * total)];
    return { id: `moe-${i}`, arrivalMs: 0, promptIds: domainPromptIds({ vocabSize: o.vocabSize }, domain, o.promptTokens, seed * 100_003 + i), maxTokens: o.maxTokens, domain };
  });
  return {
    name: 'moe-domains',
    description: `MoE domain mix (${DOMAIN_NAMES.map((d, i) => `${d} ${weights[i]}`).join(', ')}), ${o.promptTokens} prompt tokens, ${o.maxTokens} out`,
    requests,
    timed: false,
    params: { requests: o.requests, prompt_tokens: o.promptTokens, max_tokens: o.maxTokens, vocab_size: o.vocabSize, mix: DOMAIN_NAMES.map((d, i) => `${d}=${weights[i]}`).join(','), seed },
  };
}
