/**
 * The gateway's options: flags (`--port 8080`) or env (`DUET_PORT=8080`), parsed once by
 * `parseServiceConfig`. Defaults live here and only here; docs/api.md lists them.
 */
import { z } from 'zod';

const list = z.union([z.array(z.string()), z.string().transform((s) => s.split(',').filter((x) => x !== ''))]);

export const gatewayConfigSchema = z.object({
  port: z.number().int().min(0).max(65535).default(8080),
  host: z.string().default('127.0.0.1'),
  natsUrl: z.string().default('nats://127.0.0.1:4222'),
  /** NATS subject prefix (`duet` in a deployment). */
  subjectPrefix: z.string().default('duet'),
  /** Model folders, `dir` or `id=dir`; the tokenizer and context length come from them. */
  models: list.default([]),
  /** `key=tenant` pairs; empty = no authentication. */
  apiKeys: list.default([]),
  bodyLimitBytes: z.number().int().min(1024).default(1024 * 1024),
  /** 0 = no limit. */
  requestTimeoutMs: z.number().int().min(0).default(600_000),
  transport: z.enum(['nats', 'tcp']).default('nats'),
  placementTimeoutMs: z.number().int().min(1).default(2000),
  /** How long a decode worker may take to acknowledge a DecodeRequest. */
  runAckTimeoutMs: z.number().int().min(1).default(2000),
  /** Silence on a token stream after which the decode worker's liveness is checked. */
  stallTimeoutMs: z.number().int().min(1).default(10_000),
  kvTransferTimeoutMs: z.number().int().min(1).default(10_000),
  /** Tokens per KV block; must match the workers' (block hashes depend on it). */
  blockSize: z.number().int().min(1).default(16),
  /** Id in SLO reports (`duet.slo.<id>`); default `gateway-<pid>`. */
  gatewayId: z.string().regex(/^[A-Za-z0-9_-]+$/).optional(),
  /** Period of the SLO reports the planner scales on. */
  sloReportIntervalMs: z.number().int().min(100).default(5000),
  /** Run an in-process engine instead of NATS workers (one per model folder). */
  aggregated: z.boolean().default(false),
});

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;

/** `key=tenant` pairs → map; a bare key is its own tenant. */
export function apiKeyMap(pairs: readonly string[]): Map<string, string> {
  return new Map(pairs.map((p) => {
    const eq = p.indexOf('=');
    return eq > 0 ? [p.slice(0, eq), p.slice(eq + 1)] : [p, p];
  }));
}
