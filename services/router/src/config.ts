/** The router's one options object (flags / `DUET_*` env via parseServiceConfig), defaults here. */
import { parseServiceConfig } from '@duet/core';
import { z } from 'zod';

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
  /** Router replicas share duet.router.place through this NATS queue group. */
  queueGroup: z.string().default('duet-router'),
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
