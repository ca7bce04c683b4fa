/**
 * Operator process entry (the image's `operator` role):
 *   node --import tsx operator/src/main.ts [--kubeconfig F] [--watch-namespace NS] [--lease-name N] …
 * Options as flags or DUET_* env (controller/config.ts). SIGTERM/SIGINT stop it and release the Lease.
 */
import { ConfigError, createLogger } from '@duet/core';
import { runOperator } from './controller/run.ts';
import { KubeConfigError } from './kube/config.ts';

const logger = createLogger('operator');

runOperator({ logger }).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const known = err instanceof ConfigError || err instanceof KubeConfigError;
    logger.error({ err: known ? err.message : err }, 'operator failed');
    process.exit(1);
  },
);
