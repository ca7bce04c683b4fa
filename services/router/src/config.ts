/** The router's one options object (flags / `DUET_*` env via parseServiceConfig), defaults here. */
import { parseServiceConfig } from '@duet/core';
import { z } from 'zod';
import { DEFAULT_ACCOUNTING_KEY_PREFIX } from './accounting/index.ts';
import { DEFAULT_POLICY } from './policy/load.ts';

export const routerConfigSchema = z.object({
  /** Default `router-<pid>`. */
  routerId: z.string().regex(/^[A-Za-z0-9_-]+$/).optional(),
  natsUrl: z.string().default('nats://127.0.0.1:4222'),
  subjectPrefix: z.string().default('duet'),
  /**
   * A worker is dropped after this many heartbeat intervals without a beat. Generous on purpose:
   * a worker computing one long prefill step on the CPU engine cannot beat until the step ends
   * (seconds for a 512-token chunk of the bench model), and a busy worker is not a dead one.
   */
  missedBeats: z.number().int().positive().default(10),
  /** 0 = an ephemeral port (logged). */
  metricsPort: z.number().int().min(0).max(65535).default(0),
  /** Interface the metrics endpoint binds; 0.0.0.0 in a pod so Prometheus can scrape it. */
  metricsHost: z.string().default('127.0.0.1'),
  /** Router replicas share duet.router.place through this NATS queue group. */
  queueGroup: z.string().default('duet-router'),
  /**
   * The RoutingPolicy: a built-in name (round-robin, least-load, prefix-load, prefix-load-expert,
   * lowest-cost; services/router/policies/) or a YAML/JSON file. PolicyUpdates on NATS for the same
   * metadata.name replace it live.
   */
  policy: z.string().min(1).default(DEFAULT_POLICY),
  /** How often the policy file is checked for changes (ms); 0 = never. */
  policyWatchMs: z.number().int().min(0).default(1000),
  /** Share in-flight accounting with other router replicas through this Redis; unset = in process. */
  redisUrl: z.string().optional(),
  /** Redis key prefix of the shared accounting; replicas of one deployment use the same one. */
  accountingKeyPrefix: z.string().min(1).default(DEFAULT_ACCOUNTING_KEY_PREFIX),
  /** A reservation whose completion events never came is given back after this long (ms). */
  reservationTtlMs: z.number().int().positive().default(10 * 60_000),
  /** Decisions re-made after an accounting conflict before reserving unconditionally. */
  casRetries: z.number().int().min(0).default(8),
});

export type RouterConfigInput = z.input<typeof routerConfigSchema>;
export type RouterConfig = z.output<typeof routerConfigSchema> & { routerId: string };

export function resolveRouterConfig(input: RouterConfigInput): RouterConfig {
  const c = routerConfigSchema.parse(input);
  return { ...c, routerId: c.routerId ?? `router-${process.pid}` };
}

export function parseRouterConfig(opts: { argv?: readonly string[]; env?: NodeJS.ProcessEnv } = {}): RouterConfig {
  return resolveRouterConfig(parseServiceConfig(routerConfigSchema, opts));
}
