/**
 * The contract between the HTTP layer and whatever runs the tokens. Two implementations:
 * `LocalEngineBackend` (an in-process engine) and `NatsBackend` (router + workers over NATS).
 *
 * Contract, enforced by both implementations and relied on by the HTTP layer:
 * - `generate` never throws: every failure arrives as one `{type:'error'}` event, after which the
 *   stream ends. Errors before the first token let the gateway answer with a proper HTTP status.
 * - A stream ends after exactly one `done` or `error` event.
 * - Aborting `signal` cancels the request on the backend (its KV blocks are freed everywhere) and
 *   ends the stream promptly.
 */

export interface BackendToken {
  id: number;
  /** log p(id); null when logprobs were not requested. */
  logprob: number | null;
  /** The requested number of most likely alternatives, most likely first; null when not requested. */
  top: { id: number; logprob: number }[] | null;
}

export interface BackendSampling {
  /** 0 = greedy. */
  temperature: number;
  topP: number;
  seed: number;
  maxTokens: number;
  /** End generation after any of these ids (the model's EOS ids). */
  stopTokenIds: number[];
  /** Alternatives per token (0–20), or null for no logprobs. */
  logprobs: number | null;
}

export interface BackendRequest {
  requestId: string;
  model: string;
  promptIds: number[];
  /** Salt of the chained block hashes: one per tenant, so tenants never share cache. */
  hashSalt: string;
  /** `hashPromptBlocks(promptIds, blockSize, hashSalt)`: what the router matches prefixes on. */
  blockHashes: string[];
  sampling: BackendSampling;
}

export type BackendFinishReason = 'stop' | 'length' | 'abort';

export interface BackendUsage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
}

export type BackendEvent =
  | { type: 'tokens'; tokens: BackendToken[] }
  | { type: 'done'; finishReason: BackendFinishReason; usage: BackendUsage }
  | { type: 'error'; error: Error };

export interface InferenceBackend {
  generate(req: BackendRequest, signal: AbortSignal): AsyncIterable<BackendEvent>;
  /** True when a request could be served now (readiness probe). */
  ready(): boolean;
  close(): Promise<void>;
}
