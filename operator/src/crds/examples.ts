/**
 * One example of each kind, shown in docs/crd-reference.md and validated against the generated
 * CRD schemas and the zod schemas by operator/test/crds.test.ts (so the docs cannot drift).
 */
import { DUET_API_VERSION } from './common.ts';

export const CRD_EXAMPLES: Record<string, Record<string, unknown>> = {
  DuetService: {
    apiVersion: DUET_API_VERSION,
    kind: 'DuetService',
    metadata: { name: 'llama', namespace: 'duet' },
    spec: {
      image: 'registry.example.com/duet:0.1.0-cpu',
      model: {
        name: 'llama-demo',
        source: { pvc: { claimName: 'duet-models', subPath: 'llama-demo' } },
        engine: { backend: 'wasm', blockSize: 16, maxBatchTokens: 512, kvCacheMiB: 512 },
      },
      prefill: {
        replicas: 1,
        minReplicas: 1,
        maxReplicas: 4,
        resources: { requests: { cpu: '2', memory: '4Gi' } },
      },
      decode: {
        replicas: 2,
        minReplicas: 1,
        maxReplicas: 8,
        image: 'registry.example.com/duet:0.1.0-gpu',
        nodeSelector: { 'nvidia.com/gpu.present': 'true' },
        tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
        resources: { limits: { 'nvidia.com/gpu': 1 } },
        transport: 'tcp',
      },
      router: { replicas: 2, policyRef: { name: 'default' } },
      gateway: { replicas: 2, service: { type: 'ClusterIP', port: 80 }, apiKeys: { secretRef: { name: 'duet-api-keys', key: 'apiKeys' } } },
      nats: { url: 'nats://duet-nats:4222' },
      redis: { url: 'redis://duet-redis:6379' },
      scalingPolicyRef: { name: 'default' },
    },
  },
  RoutingPolicy: {
    apiVersion: DUET_API_VERSION,
    kind: 'RoutingPolicy',
    metadata: { name: 'default', namespace: 'duet' },
    spec: {
      decode: {
        filters: [{ type: 'healthy' }, { type: 'kv-capacity' }],
        scorers: [
          { type: 'prefix-affinity', weight: 2 },
          { type: 'decode-load', weight: 1 },
        ],
        picker: { type: 'max-score' },
      },
      disaggregation: { mode: 'auto', localPrefillThresholdTokens: 256 },
    },
  },
  ScalingPolicy: {
    apiVersion: DUET_API_VERSION,
    kind: 'ScalingPolicy',
    metadata: { name: 'default', namespace: 'duet' },
    spec: {
      intervalSeconds: 15,
      drainTimeoutSeconds: 600,
      prefillToDecodeRatio: { min: 0.25, max: 2 },
      prefill: { minReplicas: 1, maxReplicas: 4, slo: { ttftP90Ms: 1500 }, thresholds: { queuedPromptTokensPerReplica: 8192 } },
      decode: {
        minReplicas: 1,
        maxReplicas: 8,
        slo: { tpotP90Ms: 80 },
        thresholds: { kvUtilization: 0.8, runningSequencesPerReplica: 32 },
        scaleDown: { stabilizationWindowSeconds: 300, maxReplicasPerInterval: 1 },
      },
    },
  },
};
