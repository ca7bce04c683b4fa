/** Per-request sampling parameters, validated once when the request enters the engine. */

export interface SamplingParams {
  /** 0 means greedy (argmax, ties → lowest token id). */
  temperature: number;
  /** Nucleus sampling mass in (0, 1]; 1 disables it. */
  topP: number;
  /** Keep only the k most likely tokens; 0 disables it. */
  topK: number;
  /**
   * Seed of the request's counter-based random stream: the draw for output token i depends only on
   * (seed, i), so batching, preemption and moving a request between workers never change its tokens.
   */
  seed: number;
  /** Most tokens to generate. */
  maxTokens: number;
  /** Generation stops after emitting any of these (the model's EOS ids unless ignoreEos). */
  stopTokenIds: number[];
  /** Alternatives to report per token (0–20), or null for no logprobs at all. */
  logprobs: number | null;
}

export const MAX_LOGPROBS = 20;

export const DEFAULT_SAMPLING: Readonly<Omit<SamplingParams, 'seed' | 'stopTokenIds'>> = {
  temperature: 1,
  topP: 1,
  topK: 0,
  maxTokens: 16,
  logprobs: null,
};

export class SamplingParamsError extends Error {
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(message);
    this.name = 'SamplingParamsError';
  }
}

function check(ok: boolean, param: string, message: string): void {
  if (!ok) throw new SamplingParamsError(param, `${param}: ${message}`);
}

/** Fills defaults and validates; a random seed is drawn when none is given. */
export function makeSamplingParams(p: Partial<SamplingParams> & { stopTokenIds?: number[] }): SamplingParams {
  const out: SamplingParams = {
    ...DEFAULT_SAMPLING,
    seed: Math.floor(Math.random() * 0x1_0000_0000),
    stopTokenIds: [],
    ...Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)),
  };
  check(Number.isFinite(out.temperature) && out.temperature >= 0, 'temperature', 'must be a number ≥ 0');
  check(Number.isFinite(out.topP) && out.topP > 0 && out.topP <= 1, 'top_p', 'must be in (0, 1]');
  check(Number.isInteger(out.topK) && out.topK >= 0, 'top_k', 'must be an integer ≥ 0');
  check(Number.isInteger(out.seed), 'seed', 'must be an integer');
  out.seed = out.seed >>> 0;
  check(Number.isInteger(out.maxTokens) && out.maxTokens >= 1, 'max_tokens', 'must be an integer ≥ 1');
  check(out.logprobs === null || (Number.isInteger(out.logprobs) && out.logprobs >= 0 && out.logprobs <= MAX_LOGPROBS), 'top_logprobs', `must be an integer in 0…${MAX_LOGPROBS}`);
  check(out.stopTokenIds.every((t) => Number.isInteger(t) && t >= 0), 'stop_token_ids', 'must be non-negative integers');
  return out;
}
