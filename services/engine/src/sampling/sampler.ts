/**
 * Token selection from one row of logits [V], on the host.
 *
 * Order of operations (as vLLM): logprobs are taken from the raw logits (log-softmax, before
 * temperature and filtering); then temperature scales, top-k and top-p filter, and one counter-based
 * uniform draw picks a token from the renormalised survivors, walking them in descending probability
 * (ties → lower id). Temperature 0 is greedy argmax.
 */
import type { SamplingParams } from './params.ts';
import { uniform } from './rng.ts';

export interface TokenLogprob {
  id: number;
  logprob: number;
}

export interface SampledToken {
  id: number;
  /** log p(id) under the raw model distribution; null when logprobs were not requested. */
  logprob: number | null;
  /** The `params.logprobs` most likely alternatives, most likely first; null when not requested. */
  top: TokenLogprob[] | null;
}

export function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

function logSumExp(x: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i] > max) max = x[i];
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.exp(x[i] - max);
  return max + Math.log(s);
}

/** The n largest entries, descending (ties → lower id). O(V·n). */
export function topN(x: Float32Array, n: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < x.length; i++) {
    if (best.length === n && x[i] <= x[best[n - 1]]) continue;
    let j = best.length === n ? n - 1 : best.length;
    if (best.length < n) best.push(i);
    while (j > 0 && x[best[j - 1]] < x[i]) {
      best[j] = best[j - 1];
      j--;
    }
    best[j] = i;
  }
  return best;
}

/**
 * Candidates in descending probability holding at least mass `topP` (and at most `topK`), without
 * sorting the whole vocabulary: only tokens above a threshold are sorted, and the threshold drops
 * until the sorted set carries enough mass. Returns ids and their unnormalised probabilities.
 */
function nucleus(probs: Float64Array, total: number, topP: number, topK: number): { ids: number[]; p: number[] } {
  let maxP = 0;
  for (let i = 0; i < probs.length; i++) maxP = Math.max(maxP, probs[i]);
  for (let threshold = maxP * 1e-3; ; threshold /= 1e3) {
    const ids: number[] = [];
    let mass = 0;
    for (let i = 0; i < probs.length; i++) {
      if (probs[i] >= threshold) {
        ids.push(i);
        mass += probs[i];
      }
    }
    const enough = mass >= topP * total || (topK > 0 && ids.length >= topK) || threshold === 0;
    if (!enough) continue;
    ids.sort((a, b) => probs[b] - probs[a] || a - b);
    const keep: number[] = [];
    const p: number[] = [];
    let cum = 0;
    for (const id of ids) {
      if (topK > 0 && keep.length >= topK) break;
      if (topP < 1 && cum >= topP * total) break;
      keep.push(id);
      p.push(probs[id]);
      cum += probs[id];
    }
    return { ids: keep, p };
  }
}

function sampleId(logits: Float32Array, params: SamplingParams, index: number): number {
  if (params.temperature === 0) return argmax(logits);
  const invT = 1 / params.temperature;
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const probs = new Float64Array(logits.length);
  let total = 0;
  for (let i = 0; i < logits.length; i++) {
    probs[i] = Math.exp((logits[i] - max) * invT);
    total += probs[i];
  }
  const { ids, p } = params.topP < 1 || params.topK > 0
    ? nucleus(probs, total, params.topP, params.topK)
    : { ids: null, p: null };
  const pool = ids ? p.reduce((a, b) => a + b, 0) : total;
  let u = uniform(params.seed, index) * pool;
  const n = ids ? ids.length : probs.length;
  for (let j = 0; j < n; j++) {
    const pj = ids ? p[j] : probs[j];
    if (u < pj) return ids ? ids[j] : j;
    u -= pj;
  }
  return ids ? ids[n - 1] : n - 1; // rounding left u just past the end
}

/** Picks output token number `index` (0-based) of a request from its logits row. */
export function sampleToken(logits: Float32Array, params: SamplingParams, index: number): SampledToken {
  const id = sampleId(logits, params, index);
  if (params.logprobs === null) return { id, logprob: null, top: null };
  const lse = logSumExp(logits);
  const top = topN(logits, params.logprobs).map((t) => ({ id: t, logprob: logits[t] - lse }));
  return { id, logprob: logits[id] - lse, top };
}
