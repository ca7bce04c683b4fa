/**
 * The per-request record every metric is computed from. The load tester fills it from a streamed
 * HTTP response; the simulator fills it from simulated events. All times are ms from the start of
 * the run.
 */

export interface RequestTiming {
  id: string;
  /** Sent. */
  startMs: number;
  /** First generated token arrived; null when none did. */
  firstTokenMs: number | null;
  /** Arrival of every streamed token chunk, the first included (a chunk may hold more than one token). */
  tokenTimesMs: number[];
  /** Response complete (or failed). */
  endMs: number;
  promptTokens: number;
  /** Generated tokens (usage.completion_tokens when reported, else the number of chunks). */
  outputTokens: number;
  /** usage.prompt_tokens_details.cached_tokens, or null when the server did not report usage. */
  cachedTokens: number | null;
  /** Error class (`http_503:no_capacity`, `timeout`, `connection` …), null on success. */
  error: string | null;
  errorMessage?: string;
  session?: string;
  prefixGroup?: string;
  domain?: string;
}
