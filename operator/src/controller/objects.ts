/**
 * The non-workload children of a DuetService, as pure functions of the desired input:
 *  - `<name>-config`: the DUET_* environment every container reads (flags override it), so NATS,
 *    subject prefix, model and engine settings are set once for all components;
 *  - `<name>-routing-policy`: the referenced RoutingPolicy as the router's policy document
 *    (`policy.json`), mounted into the router pods and re-read live;
 *  - `<name>-gateway` Service (the endpoint) and `<name>-metrics` headless Service (scraping);
 *  - one PodDisruptionBudget per component, at most one pod voluntarily disrupted at a time.
 */
import { createHash } from 'node:crypto';
import type { V1ConfigMap, V1PodDisruptionBudget, V1Service } from '@kubernetes/client-node';
import type { DesiredInput } from './desired.ts';
import { COMPONENTS, LABELS, PORTS, ROUTING_POLICY_KEY, childName, labelsFor, selectorLabels, type Component } from './names.ts';
import { modelDirOf } from './pod.ts';

/** The shared environment (ConfigMap data). Keys are the services' DUET_* option names. */
export function sharedEnv(input: Omit<DesiredInput, 'configHash'>): Record<string, string> {
  const { spec, owner } = input;
  const engine = spec.model.engine;
  const modelDir = modelDirOf(spec);
  const env: Record<string, string> = {
    DUET_NATS_URL: spec.nats.url,
    DUET_SUBJECT_PREFIX: input.subjectPrefix,
    DUET_MODEL_DIR: modelDir,
    DUET_MODEL_NAME: spec.model.name,
    DUET_MODELS: `${spec.model.name}=${modelDir}`,
    DUET_BACKEND: engine.backend,
    DUET_BLOCK_SIZE: String(engine.blockSize),
    DUET_MAX_BATCH_TOKENS: String(engine.maxBatchTokens),
    DUET_MAX_RUNNING_SEQS: String(engine.maxRunningSeqs),
    DUET_KV_CACHE_MIB: String(engine.kvCacheMiB),
    DUET_THREADS: engine.threads === 0 ? 'auto' : String(engine.threads),
    DUET_METRICS_PORT: String(PORTS.metrics),
    DUET_METRICS_HOST: '0.0.0.0',
    DUET_HOST: '0.0.0.0',
    DUET_PORT: String(PORTS.gatewayHttp),
    DUET_ACCOUNTING_KEY_PREFIX: `duet:${owner.namespace}:${owner.name}:`,
  };
  if (spec.redis) env.DUET_REDIS_URL = spec.redis.url;
  return env;
}

export const hashOf = (data: Record<string, string>): string =>
  createHash('sha256').update(JSON.stringify(Object.entries(data).sort(([a], [b]) => a.localeCompare(b)))).digest('hex').slice(0, 16);

const meta = (input: DesiredInput, name: string, component?: Component) => ({ name, namespace: input.owner.namespace, labels: labelsFor(input.owner.name, component) });

export function configMap(input: DesiredInput, data: Record<string, string>): V1ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(input, childName(input.owner.name, 'config')), data };
}

export function routingPolicyConfigMap(input: DesiredInput, documentJson: string): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(input, childName(input.owner.name, 'routing-policy'), 'router'),
    data: { [ROUTING_POLICY_KEY]: documentJson },
  };
}

export function gatewayService(input: DesiredInput): V1Service {
  const svc = input.spec.gateway.service;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(input, childName(input.owner.name, 'gateway'), 'gateway'),
    spec: {
      type: svc.type,
      selector: selectorLabels(input.owner.name, 'gateway'),
      ports: [{ name: 'http', port: svc.port, targetPort: 'http', protocol: 'TCP' }],
    },
  };
}

/** Headless: one endpoint per pod of the service, for Prometheus (ServiceMonitor) discovery. */
export function metricsService(input: DesiredInput): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(input, childName(input.owner.name, 'metrics')),
    spec: {
      clusterIP: 'None',
      selector: { [LABELS.name]: 'duet', [LABELS.instance]: input.owner.name },
      ports: [{ name: 'metrics', port: PORTS.metrics, targetPort: 'metrics', protocol: 'TCP' }],
    },
  };
}

export function disruptionBudgets(input: DesiredInput): V1PodDisruptionBudget[] {
  return COMPONENTS.map((c) => ({
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta(input, childName(input.owner.name, c), c),
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(input.owner.name, c) } },
  }));
}
