/** The engine's one options object: defaults in one place, validated once. */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import type { ModelConfig } from './model/types.ts';
import { BACKEND_NAMES } from './tfjs/backend.ts';
import { MATMUL_KINDS } from './tfjs/device-weights.ts';

export const engineOptionsSchema = z.object({
  /** TensorFlow.js backend. */
  backend: z.enum(BACKEND_NAMES as ['wasm', 'cpu', 'tensorflow']).default('wasm'),
  /** Tokens per KV block. */
  blockSize: z.number().int().positive().default(16),
  /** KV blocks in the pool; when absent, derived from kvCacheMiB. */
  numKvBlocks: z.number().int().positive().optional(),
  /** Host memory for the KV cache when numKvBlocks is absent. */
  kvCacheMiB: z.number().positive().default(256),
  /** Tokens one forward pass may run (decodes + prefill chunks). */
  maxBatchTokens: z.number().int().positive().default(512),
  /** Sequences running at once. */
  maxRunningSeqs: z.number().int().positive().default(64),
  /** Reuse cached prefix blocks across requests. */
  enablePrefixCaching: z.boolean().default(true),
  /** Default block-hash salt (tenants pass their own per request). */
  hashSalt: z.string().default(''),
  /**
   * Threads one forward pass computes with (tensor parallelism, one worker thread per extra thread);
   * 1 keeps everything on the calling thread. `auto`: see `effectiveThreads`.
   */
  threads: z.union([z.literal('auto'), z.number().int().positive()]).default('auto'),
  /**
   * Which code multiplies by the weight matrices: `wasm-simd` (Duet's WebAssembly SIMD GEMM),
   * `backend` (the TensorFlow.js backend's matMul), or `auto` (see `resolveMatmul`).
   */
  matmul: z.enum(['auto', ...MATMUL_KINDS]).default('auto'),
});

export type EngineOptionsInput = z.input<typeof engineOptionsSchema>;
export type EngineOptions = z.output<typeof engineOptionsSchema>;

export function parseEngineOptions(input: EngineOptionsInput = {}): EngineOptions {
  const r = engineOptionsSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new RangeError(`engine option ${issue.path.join('.')}: ${issue.message}`);
  }
  return r.data;
}

/** `threads: 'auto'` uses at most this many threads. */
export const AUTO_MAX_THREADS = 4;
/** `threads: 'auto'` stays on one thread below this many bytes of f32 weights read per token. */
export const AUTO_MIN_WEIGHT_BYTES = 32 * 2 ** 20;

/** f32 bytes of the weight matrices one token reads: attention, active MLP/experts, LM head. */
export function weightBytesPerToken(c: ModelConfig): number {
  const E = c.hiddenSize;
  const attention = E * (c.numHeads + 2 * c.numKvHeads) * c.headDim + c.numHeads * c.headDim * E;
  const mlp = c.moe ? 3 * E * c.moe.expertIntermediateSize * c.moe.topK + E * c.moe.numExperts : 3 * E * c.intermediateSize;
  return 4 * (c.numLayers * (attention + mlp) + E * c.vocabSize);
}

/**
 * The thread count an engine asks for. Always 1 for the `tensorflow` backend (libtensorflow runs its
 * own thread pool). A number is taken as given (the runner still caps it so every thread gets at
 * least one kv head). `auto`: 1 for models under AUTO_MIN_WEIGHT_BYTES per token (a worker's
 * start-up and per-layer hand-offs cost more than it saves there), otherwise the cores, up to
 * AUTO_MAX_THREADS.
 */
export function effectiveThreads(o: Pick<EngineOptions, 'threads' | 'backend'>, config: ModelConfig, cores = availableParallelism()): number {
  if (o.backend === 'tensorflow') return 1;
  if (o.threads !== 'auto') return o.threads;
  if (weightBytesPerToken(config) < AUTO_MIN_WEIGHT_BYTES) return 1;
  return Math.max(1, Math.min(cores, AUTO_MAX_THREADS));
}
