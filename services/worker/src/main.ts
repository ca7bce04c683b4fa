/**
 * Worker process entry: `node --import tsx services/worker/src/main.ts --role decode --model-dir DIR`.
 * SIGTERM drains (finish held requests, then exit: scale-down); SIGINT stops at once.
 */
import { ConfigError, createLogger, initTracing } from '@duet/core';
import { parseWorkerConfig } from './config.ts';
import { Worker } from './worker.ts';

const logger = createLogger('worker');

async function main(): Promise<void> {
  const config = parseWorkerConfig();
  initTracing({ serviceName: `duet-worker-${config.role}` });
  const worker = new Worker(config, { logger });
  let stopping = false;
  const shutdown = (drain: boolean): void => {
    if (stopping) return;
    stopping = true;
    const done = drain ? worker.drain().then(() => worker.stop()) : worker.stop();
    done.then(
      () => process.exit(0),
      (err: unknown) => (logger.error({ err }, 'shutdown failed'), process.exit(1)),
    );
  };
  process.on('SIGTERM', () => shutdown(true));
  process.on('SIGINT', () => shutdown(false));
  await worker.start();
}

main().catch((err: unknown) => {
  logger.error({ err: err instanceof ConfigError ? err.message : err }, 'worker failed to start');
  process.exit(1);
});
