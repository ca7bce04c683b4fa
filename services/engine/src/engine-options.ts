/** The engine's one options object: defaults in one place, validated once. */
import { z } from 'zod';
import { BACKEND_NAMES } from './tfjs/backend.ts';

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
