/**
 * The operator process, shared by `operator/src/main.ts` (the image's `operator` role) and
 * `duet operator`: parse the options, find the cluster, serve /healthz and /metrics, run the
 * Operator (with the pool autoscaler unless --autoscale false) until SIGTERM or SIGINT, then stop
 * cleanly: the controller stops, the Lease is released so a standby takes over at once.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@duet/core';
import type { Registry } from 'prom-client';
import { KubePoolAutoscaler } from '../autoscaler/index.ts';
import { KubeClients } from '../kube/clients.ts';
import { loadKubeConfig } from '../kube/config.ts';
import { parseOperatorConfig, type OperatorConfig } from './config.ts';
import { OperatorMetrics } from './metrics.ts';
import { Operator } from './operator.ts';

/** GET /healthz (the process is up), /readyz (it leads or stands by normally), /metrics. */
export function serveOperatorHttp(registry: Registry, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/healthz' || req.url === '/readyz') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

export function buildOperator(config: OperatorConfig, logger: Logger): { operator: Operator; metrics: OperatorMetrics; cluster: string; source: string } {
  const { kc, source } = loadKubeConfig({ kubeconfig: config.kubeconfig });
  const metrics = new OperatorMetrics();
  const clients = new KubeClients(kc);
  const autoscaler = config.autoscale ? new KubePoolAutoscaler({ apps: clients.apps, core: clients.core, logger: logger.child({ component: 'autoscaler' }), registry: metrics.registry }) : undefined;
  const operator = new Operator(
    kc,
    {
      identity: config.identity,
      leaderElection: config.leaderElect
        ? { namespace: config.leaseNamespace, name: config.leaseName, leaseDurationMs: config.leaseDurationMs, renewDeadlineMs: config.renewDeadlineMs, retryPeriodMs: config.retryPeriodMs }
        : undefined,
      controller: { namespace: config.watchNamespace, concurrency: config.concurrency, resyncMs: config.resyncMs, publishTimeoutMs: config.publishTimeoutMs },
    },
    { logger, metrics, autoscaler },
  );
  return { operator, metrics, cluster: kc.getCurrentCluster()?.server ?? '(none)', source };
}

/** Runs until a signal; returns the exit code. */
export async function runOperator(opts: { argv?: readonly string[]; env?: NodeJS.ProcessEnv; logger: Logger }): Promise<number> {
  const { logger } = opts;
  const config = parseOperatorConfig({ argv: opts.argv, env: opts.env });
  const { operator, metrics, cluster, source } = buildOperator(config, logger);
  const server = await serveOperatorHttp(metrics.registry, config.metricsHost, config.metricsPort);
  logger.info({ config: { ...config, kubeconfig: config.kubeconfig ?? source }, cluster, httpPort: (server.address() as AddressInfo).port }, 'effective config');
  const signalled = new Promise<string>((resolve) => ['SIGTERM', 'SIGINT'].forEach((s) => process.once(s, () => resolve(s))));
  await operator.start();
  const signal = await signalled;
  logger.info({ signal }, 'stopping');
  await operator.stop();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return 0;
}
