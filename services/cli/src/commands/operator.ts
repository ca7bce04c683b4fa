/**
 * `duet operator [flags]`: runs the Kubernetes operator in this process against the cluster of
 * --kubeconfig (or in-cluster / $KUBECONFIG / ~/.kube/config) until Ctrl-C; the same process the
 * image's `operator` role runs. Flags and DUET_* env as in operator/src/controller/config.ts, e.g.
 * `--watch-namespace duet --leader-elect false`. Loaded lazily: other commands never pull in the
 * Kubernetes client.
 */
import { ConfigError, createLogger } from '@duet/core';
import { CliUsageError } from '../args.ts';

export async function operator(argv: string[]): Promise<number> {
  const { runOperator } = await import('@duet/operator');
  try {
    return await runOperator({ argv, logger: createLogger('operator') });
  } catch (err) {
    if (err instanceof ConfigError) throw new CliUsageError(err.message);
    throw err;
  }
}
