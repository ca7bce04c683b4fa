/**
 * The worker's one options object: flags (`--kv-cache-mib 64`) and env (`DUET_KV_CACHE_MIB=64`)
 * through `parseServiceConfig`, defaults here and nowhere else, validated once at start.
 */
import { basename } from 'node:path';
import { parseServiceConfig } from '@duet/core';
import { z } from 'zod';

export const WORKER_ROLES = ['prefill', 'decode', 'both'] as const;
export type WorkerRoleName = (typeof WORKER_ROLES)[number];

export const workerConfigSchema = z.object({
  role: z.enum(WORKER_ROLES).default('both'),
  /** Default `<role>-<pid>`. Becomes a NATS subject token. */
  workerId: z.string().regex(/^[A-Za-z0-9_-]+$/).optional(),
  natsUrl: z.string().default('nats://127.0.0.1:4222'),
  /** First token of every subject (`duet`; tests use a unique one). */
  subjectPrefix: z.string().default('duet'),
  modelDir: z.string().min(1),
  /** The served model name; default the model folder's name. */
  modelName: z.string().optional(),
  /** tensorflow needs @tensorflow/tfjs-node(-gpu) installed (the GPU image); the engine says so otherwise. */
  backend: z.enum(['wasm', 'cpu', 'tensorflow']).default('wasm'),
  /**
   * Engine compute threads: `auto` (default) uses both cores for models that read ≥ 32 MiB of
   * weights per token, one thread below that; a number forces it. Several workers on one machine
   * should use 1 each, or their threads compete for the same cores (docs/engine.md, "Threads").
   */
  threads: z.union([z.literal('auto'), z.number().int().positive()]).default('auto'),
  kvCacheMib: z.number().positive().default(256),
  /** Overrides kvCacheMib with an exact block count (tests). */
  numKvBlocks: z.number().int().positive().optional(),
  blockSize: z.number().int().positive().default(16),
  maxBatchTokens: z.number().int().positive().default(512),
  maxRunningSeqs: z.number().int().positive().default(64),
  heartbeatIntervalMs: z.number().int().positive().default(1000),
  /** Shortest gap between two LoadReports (they follow scheduler steps). */
  loadReportIntervalMs: z.number().int().positive().default(200),
  /** 0 = an ephemeral port (logged). */
  metricsPort: z.number().int().min(0).max(65535).default(0),
  /** Interface the metrics endpoint binds; 0.0.0.0 in a pod so Prometheus can scrape it. */
  metricsHost: z.string().default('127.0.0.1'),
  /** KV transport this worker sends with (prefill) and offers besides NATS (decode). */
  transport: z.enum(['nats', 'tcp']).default('nats'),
  /** Interface the TCP KV listener binds to and advertises. */
  tcpHost: z.string().default('127.0.0.1'),
  /** Budget of one KV transfer when the request carries none. */
  transferTimeoutMs: z.number().int().positive().default(10_000),
});

export type WorkerConfigInput = z.input<typeof workerConfigSchema>;
export type WorkerConfig = z.output<typeof workerConfigSchema> & { workerId: string; modelName: string };

/** Fills the derived defaults (worker id, model name). */
export function resolveWorkerConfig(input: WorkerConfigInput): WorkerConfig {
  const c = workerConfigSchema.parse(input);
  return {
    ...c,
    workerId: c.workerId ?? `${c.role}-${process.pid}`,
    modelName: c.modelName ?? basename(c.modelDir.replace(/\/+$/, '')),
  };
}

export function parseWorkerConfig(opts: { argv?: readonly string[]; env?: NodeJS.ProcessEnv } = {}): WorkerConfig {
  return resolveWorkerConfig(parseServiceConfig(workerConfigSchema, opts));
}
