/**
 * The operator process's one options object: flags (`--watch-namespace duet`) or env
 * (`DUET_WATCH_NAMESPACE=duet`, how the Helm chart sets them), defaults here and only here. The
 * replica's identity defaults to POD_NAME (downward API) or the host name; the Lease namespace to
 * POD_NAMESPACE, else the watched namespace, else `default`.
 */
import { hostname } from 'node:os';
import { ConfigError, parseServiceConfig } from '@duet/core';
import { z } from 'zod';
import { LEADER_ELECTION_DEFAULTS } from '../kube/leader.ts';
import { CONTROLLER_DEFAULTS } from './controller.ts';

const dnsLabel = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/).max(63);

export const operatorConfigSchema = z.object({
  /** A kubeconfig file; default in-cluster, else $KUBECONFIG / ~/.kube/config. */
  kubeconfig: z.string().min(1).optional(),
  /** The one namespace to watch; '' = every namespace (needs cluster-wide RBAC). */
  watchNamespace: z.union([z.literal(''), dnsLabel]).default(CONTROLLER_DEFAULTS.namespace),
  /** Elect a leader among replicas through a Lease; off = this replica always acts. */
  leaderElect: z.boolean().default(true),
  leaseName: dnsLabel.default('duet-operator'),
  leaseNamespace: dnsLabel.optional(),
  /** This replica's name (Lease holder, Events' reportingInstance). */
  identity: z.string().min(1).max(128).optional(),
  leaseDurationMs: z.number().int().min(1000).default(LEADER_ELECTION_DEFAULTS.leaseDurationMs),
  renewDeadlineMs: z.number().int().min(500).default(LEADER_ELECTION_DEFAULTS.renewDeadlineMs),
  retryPeriodMs: z.number().int().min(100).default(LEADER_ELECTION_DEFAULTS.retryPeriodMs),
  /** Reconciles running at once (never two for one object). */
  concurrency: z.number().int().min(1).max(64).default(CONTROLLER_DEFAULTS.concurrency),
  /** Every DuetService is reconciled at least this often (drift, status). */
  resyncMs: z.number().int().min(1000).default(CONTROLLER_DEFAULTS.resyncMs),
  publishTimeoutMs: z.number().int().min(100).default(CONTROLLER_DEFAULTS.publishTimeoutMs),
  /** /metrics and /healthz; 0 = an ephemeral port (logged). */
  metricsPort: z.number().int().min(0).max(65535).default(9090),
  metricsHost: z.string().min(1).default('0.0.0.0'),
  /** Run the pool autoscaler for DuetServices that reference a ScalingPolicy. */
  autoscale: z.boolean().default(true),
});

export type OperatorConfig = z.output<typeof operatorConfigSchema> & { identity: string; leaseNamespace: string };

export function parseOperatorConfig(opts: { argv?: readonly string[]; env?: NodeJS.ProcessEnv } = {}): OperatorConfig {
  const env = opts.env ?? process.env;
  const c = parseServiceConfig(operatorConfigSchema, { argv: opts.argv, env });
  if (c.leaderElect && !(c.retryPeriodMs < c.renewDeadlineMs && c.renewDeadlineMs < c.leaseDurationMs)) {
    throw new ConfigError(
      `--retry-period-ms (${c.retryPeriodMs}) < --renew-deadline-ms (${c.renewDeadlineMs}) < --lease-duration-ms (${c.leaseDurationMs}) must hold, or two replicas could act at once`,
    );
  }
  return {
    ...c,
    identity: c.identity ?? env.POD_NAME ?? hostname(),
    leaseNamespace: c.leaseNamespace ?? env.POD_NAMESPACE ?? (c.watchNamespace || 'default'),
  };
}
