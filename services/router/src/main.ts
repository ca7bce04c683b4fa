/** Router process entry: `node --import tsx services/router/src/main.ts --nats-url nats://…`. SIGINT/SIGTERM stop it. */
import { ConfigError, createLogger, initTracing } from '@duet/core';
import { parseRouterConfig } from './config.ts';
import { Router } from './router.ts';

const logger = createLogger('router');

async function main(): Promise<void> {
  const config = parseRouterConfig();
  initTracing({ serviceName: 'duet-router' });
  const router = new Router(config, { logger });
  const shutdown = (): void => {
    router.stop().then(
      () => process.exit(0),
      (err: unknown) => (logger.error({ err }, 'shutdown failed'), process.exit(1)),
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  await router.start();
}

main().catch((err: unknown) => {
  logger.error({ err: err instanceof ConfigError ? err.message : err }, 'router failed to start');
  process.exit(1);
});
