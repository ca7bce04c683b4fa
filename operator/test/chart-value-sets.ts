/**
 * The value sets the chart tests render besides the defaults, each with what it should change.
 */
export interface ValueSet {
  name: string;
  values: Record<string, unknown>;
}

export const VALUE_SETS: readonly ValueSet[] = [
  { name: 'defaults', values: {} },
  {
    // NATS outside the cluster, in-cluster Redis, two routers (needs Redis), API keys, a locked-down gateway.
    name: 'external-nats-redis',
    values: {
      nats: { enabled: false, externalUrl: 'nats://nats.infra.svc:4222' },
      redis: { enabled: true },
      duetService: {
        router: { replicas: 2 },
        gateway: { replicas: 2, serviceType: 'LoadBalancer', servicePort: 443, apiKeysSecret: 'duet-api-keys' },
      },
      networkPolicy: { gatewayFrom: [{ namespaceSelector: { matchLabels: { 'duet.dev/ingress': 'true' } } }] },
    },
  },
  {
    // Prometheus Operator present: ServiceMonitors, rules, dashboard in the monitoring namespace.
    name: 'monitoring',
    values: {
      operator: { replicas: 1 },
      monitoring: {
        serviceMonitor: { enabled: true, interval: '30s', labels: { release: 'prometheus' } },
        prometheusRule: { enabled: true, labels: { release: 'prometheus' } },
        grafanaDashboard: { namespace: 'monitoring' },
      },
      networkPolicy: { metricsNamespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
    },
  },
  {
    // Splitwise-style hardware split: decode on GPU nodes with the GPU image, prefill on CPU nodes,
    // model on a PVC, a NATS cluster, cluster-wide operator, external Redis, own name.
    name: 'gpu-decode-pools',
    values: {
      fullnameOverride: 'llm',
      operator: { rbac: { scope: 'cluster' } },
      nats: { replicas: 3, maxPayload: 8388608 },
      redis: { externalUrl: 'redis://redis.infra.svc:6379' },
      duetService: {
        model: { name: 'llama-3-8b', source: { type: 'pvc', pvc: { claimName: 'models', subPath: 'llama-3-8b' } }, engine: { backend: 'tensorflow', kvCacheMiB: 8192 } },
        prefill: {
          replicas: 2,
          minReplicas: 1,
          maxReplicas: 8,
          nodeSelector: { 'node.kubernetes.io/instance-type': 'c7i.8xlarge' },
          resources: { requests: { cpu: '8', memory: '16Gi' }, limits: { memory: '24Gi' } },
        },
        decode: {
          replicas: 2,
          minReplicas: 2,
          maxReplicas: 16,
          image: 'duet:0.1.0-gpu',
          transport: 'tcp',
          nodeSelector: { 'nvidia.com/gpu.present': 'true' },
          tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
          resources: { requests: { cpu: '4', memory: '32Gi' }, limits: { 'nvidia.com/gpu': 1, memory: '48Gi' } },
        },
        router: { replicas: 3 },
      },
      scalingPolicy: {
        spec: {
          prefillToDecodeRatio: { min: 0.25, max: 1 },
          prefill: { minReplicas: 1, maxReplicas: 8 },
          decode: { minReplicas: 2, maxReplicas: 16, thresholds: { kvUtilization: 0.75 } },
        },
      },
      routingPolicy: { enabled: false },
    },
  },
  {
    // Only the operator and NATS: no default DuetService, no policies, no network policies, an
    // existing ServiceAccount and RBAC managed elsewhere.
    name: 'operator-only',
    values: {
      duetService: { enabled: false },
      routingPolicy: { enabled: false },
      scalingPolicy: { enabled: false },
      networkPolicy: { enabled: false },
      monitoring: { grafanaDashboard: { enabled: false } },
      operator: { serviceAccount: { create: false, name: 'platform-duet' }, rbac: { create: false } },
    },
  },
];
