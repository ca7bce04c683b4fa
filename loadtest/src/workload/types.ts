/**
 * What a workload is: a list of requests, each with its prompt as token ids, an output budget, an
 * earliest send time and labels. The load tester sends them to a gateway; the cluster simulator
 * feeds the same objects to its cost model, so nothing here depends on HTTP or on a clock.
 *
 * Prompts are token ids (sent to `/v1/completions` as a token array) so prefix sharing is exact
 * and independent of any tokenizer: two requests share a KV block exactly when their ids do.
 */

/** Token ids a workload may use: `lo ≤ id < hi`. */
export interface TokenRange {
  lo: number;
  hi: number;
}

/** A turn of a multi-turn session: it is sent only after turn `turn - 1` ended, plus `thinkMs`. */
export interface SessionLabel {
  id: string;
  turn: number;
  thinkMs: number;
}

export interface WorkloadRequest {
  id: string;
  /** Earliest send time in ms from the start of the run (trace timestamp, or set by an arrival process). */
  arrivalMs: number;
  promptIds: number[];
  maxTokens: number;
  session?: SessionLabel;
  /** Requests of one group share a prompt prefix (a system prompt, a trace's first block). */
  prefixGroup?: string;
  /** Token domain of a MoE domain-mix request (code, math, legal, biology). */
  domain?: string;
}

export interface Workload {
  /** Kind: mooncake, azure, shared-prefix, multi-turn, moe-domains. */
  name: string;
  /** One line for the report. */
  description: string;
  requests: WorkloadRequest[];
  /** True when `arrivalMs` are the trace's own timestamps (so `--speed` replay makes sense). */
  timed: boolean;
  /** The parameters that shaped it (scale factor, source file, seed …), for the report. */
  params: Record<string, string | number | boolean>;
}

/** A trace file or workload option that cannot be used; names the file/line or the option. */
export class WorkloadError extends Error {
  override name = 'WorkloadError';
}
