/**
 * The gateway process: `node --import tsx services/gateway/src/main.ts --models DIR [...]`.
 * Config from flags/env (src/config.ts), logged once; NATS workers by default, an in-process
 * engine per model with `--aggregated`. SIGINT/SIGTERM close the server, then the backend.
 */
import type { Server } from 'node:http';
import { Subjects, connectNats, createLogger, createRegistry, initTracing, parseServiceConfig } from '@duet/core';
import { Engine, EngineLoop, loadModel } from '@duet/engine';
import type { NatsConnection } from 'nats';
import { apiKeyMap, gatewayConfigSchema, type GatewayConfig } from './config.ts';
import { createGatewayApp } from './http/app.ts';
import { LocalEngineBackend } from './backend/local-engine.ts';
import { NatsBackend } from './backend/nats-backend.ts';
import type { InferenceBackend } from './backend/types.ts';
import { loadModelRegistry, parseModelSource, type ModelRegistry } from './models.ts';
import { SloReporter } from './slo-reporter.ts';

const logger = createLogger('gateway');

async function localBackend(models: ModelRegistry, cfg: GatewayConfig): Promise<InferenceBackend> {
  const loops = new Map<string, EngineLoop>();
  for (const m of models.values()) loops.set(m.id, new EngineLoop(await Engine.create(await loadModel(m.dir), { blockSize: cfg.blockSize })));
  return new LocalEngineBackend(loops);
}

async function natsBackend(cfg: GatewayConfig): Promise<{ backend: InferenceBackend; nc: NatsConnection }> {
  const nc = await connectNats({ url: cfg.natsUrl, name: 'gateway' });
  const subjects = new Subjects(cfg.subjectPrefix);
  const slo = new SloReporter({ gatewayId: cfg.gatewayId ?? `gateway-${process.pid}`, intervalMs: cfg.sloReportIntervalMs });
  slo.start(nc, subjects, logger);
  const backend = new NatsBackend(nc, {
    subjects,
    slo,
    logger,
    placementTimeoutMs: cfg.placementTimeoutMs,
    runAckTimeoutMs: cfg.runAckTimeoutMs,
    stallTimeoutMs: cfg.stallTimeoutMs,
    transferTimeoutMs: cfg.kvTransferTimeoutMs,
    transport: cfg.transport,
  });
  backend.start();
  return { backend, nc };
}

async function main(): Promise<void> {
  const cfg = parseServiceConfig(gatewayConfigSchema);
  logger.info({ config: { ...cfg, apiKeys: `${cfg.apiKeys.length} key(s)` } }, 'effective config');
  if (cfg.models.length === 0) throw new Error('no model folder: pass --models DIR (or DUET_MODELS)');
  initTracing({ serviceName: 'duet-gateway' });
  const models = await loadModelRegistry(cfg.models.map(parseModelSource), cfg.blockSize);
  const { backend, nc } = cfg.aggregated ? { backend: await localBackend(models, cfg), nc: null } : await natsBackend(cfg);
  const { app } = createGatewayApp({
    backend,
    models,
    apiKeys: apiKeyMap(cfg.apiKeys),
    bodyLimitBytes: cfg.bodyLimitBytes,
    requestTimeoutMs: cfg.requestTimeoutMs,
    logger,
    registry: createRegistry('gateway'),
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(cfg.port, cfg.host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const addr = server.address();
  logger.info({ url: `http://${cfg.host}:${typeof addr === 'object' && addr ? addr.port : cfg.port}`, models: [...models.keys()] }, 'gateway listening');
  const shutdown = (signal: string): void => {
    logger.info({ signal }, 'shutting down');
    server.close(() => {
      void backend
        .close()
        .then(() => nc?.drain())
        .then(() => process.exit(0), (err: unknown) => (logger.error({ err }, 'shutdown failed'), process.exit(1)));
    });
    server.closeIdleConnections();
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  logger.fatal({ err }, 'gateway failed to start');
  process.exit(1);
});
