/**
 * Where the operator finds its API server: an explicit kubeconfig file, the in-cluster service
 * account (KUBERNETES_SERVICE_HOST plus the mounted token), or the default kubeconfig chain
 * ($KUBECONFIG, ~/.kube/config). The choice is returned with the config so main can log it once.
 */
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';

export type KubeConfigSource = 'file' | 'in-cluster' | 'default';

export class KubeConfigError extends Error {
  override name = 'KubeConfigError';
}

export interface LoadKubeConfigOptions {
  /** Path of a kubeconfig file; wins over everything else. */
  kubeconfig?: string;
  env?: NodeJS.ProcessEnv;
}

export function loadKubeConfig(opts: LoadKubeConfigOptions = {}): { kc: KubeConfig; source: KubeConfigSource } {
  const env = opts.env ?? process.env;
  const kc = new KubeConfig();
  if (opts.kubeconfig) {
    if (!existsSync(opts.kubeconfig)) throw new KubeConfigError(`--kubeconfig ${opts.kubeconfig}: no such file`);
    kc.loadFromFile(opts.kubeconfig);
    return { kc, source: 'file' };
  }
  if (env.KUBERNETES_SERVICE_HOST) {
    kc.loadFromCluster();
    return { kc, source: 'in-cluster' };
  }
  kc.loadFromDefault();
  if (!kc.getCurrentCluster()) throw new KubeConfigError('no Kubernetes cluster configured: pass --kubeconfig, set KUBECONFIG, or run in a cluster');
  return { kc, source: 'default' };
}
