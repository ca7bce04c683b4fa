/**
 * A request's life inside one engine.
 *
 * Invariant: tokens = prompt ++ output; the KV of tokens[0 … numComputed-1] is in the cache. The
 * next forward runs tokens[numComputed …]; when it reaches the end of `tokens`, its logits pick
 * output token number output.length. A decoding sequence therefore always has exactly one token to
 * run (the last sampled one), and a preempted sequence simply restarts at numComputed = 0 (less
 * whatever prefix the block cache still holds), with its output kept — recompute, not swap.
 */
import type { SampledToken } from '../sampling/sampler.ts';
import type { SamplingParams } from '../sampling/params.ts';

export type SequenceStatus = 'waiting' | 'running' | 'importing' | 'held' | 'finished';
export type FinishReason = 'stop' | 'length' | 'abort';

export class Sequence {
  readonly output: SampledToken[] = [];
  numComputed = 0;
  status: SequenceStatus = 'waiting';
  finishReason: FinishReason | null = null;
  /** Prompt tokens found in the prefix cache at first admission (usage.cached_tokens). */
  cachedPromptTokens: number | null = null;
  numPreemptions = 0;

  constructor(
    readonly id: string,
    readonly prompt: readonly number[],
    readonly sampling: SamplingParams,
    /** Block-hash salt (per tenant), or undefined for the engine default. */
    readonly salt: string | undefined,
    /** Admission order; lower runs first and is preempted last. */
    readonly arrival: number,
    /** Keep the KV after finishing, for export (a prefill worker's request). */
    readonly holdKv: boolean,
  ) {}

  get numTokens(): number {
    return this.prompt.length + this.output.length;
  }

  tokenAt(i: number): number {
    return i < this.prompt.length ? this.prompt[i] : this.output[i - this.prompt.length].id;
  }

  /** Token ids in [from, to). */
  tokens(from = 0, to = this.numTokens): number[] {
    const out: number[] = [];
    for (let i = from; i < to; i++) out.push(this.tokenAt(i));
    return out;
  }

  get remaining(): number {
    return this.numTokens - this.numComputed;
  }

  /** Past its prompt: every step runs exactly one token. */
  get isDecoding(): boolean {
    return this.output.length > 0 && this.remaining === 1;
  }
}
