/**
 * The Helm chart's values as a zod schema, from which charts/duet/values.schema.json is generated
 * (`npm run crds:gen`), so `helm install/lint` rejects a bad value with its path before anything
 * renders. The DuetService parts reuse the CRD's own schemas (model, engine, pool fields), so a value
 * the chart accepts is one the CRD accepts. Objects are closed (additionalProperties: false) except
 * where Kubernetes objects pass through (resources, affinity, tolerations, policy specs, labels).
 * The model source is `type` + one block per kind (not the CRD's one-of object): Helm merges user
 * values into the defaults, so setting `pvc` would otherwise leave the default `image` beside it.
 */
import { z } from 'zod';
import { engineSettingsSchema, MODEL_SOURCE_KINDS, poolSpecSchema, SERVICE_TYPES } from './duet-service.ts';
import { nodeSelectorSchema, resourceRequirementsSchema, tolerationSchema } from './common.ts';

const open = z.record(z.string(), z.unknown());
const labels = z.record(z.string(), z.string());
const image = (repository: string) =>
  z.strictObject({
    repository: z.string().min(1).meta({ description: `Image repository (default ${repository}).` }),
    tag: z.string().min(1),
    pullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']),
  });
const placement = {
  nodeSelector: nodeSelectorSchema,
  tolerations: z.array(tolerationSchema),
};

const poolShape = poolSpecSchema.shape;
const poolValues = z.strictObject({
  replicas: poolShape.replicas,
  minReplicas: poolShape.minReplicas,
  maxReplicas: poolShape.maxReplicas,
  image: z.string().regex(/^(|[^\s]+)$/).meta({ description: 'Image of the pool; empty = duetService.image.' }),
  transport: poolShape.transport,
  resources: resourceRequirementsSchema,
  ...placement,
});

export const chartValuesSchema = z.strictObject({
  nameOverride: z.string(),
  fullnameOverride: z.string().max(40),
  commonLabels: labels,
  image: z.strictObject({
    repository: z.string().min(1),
    tag: z.string(),
    flavor: z.enum(['cpu', 'gpu']),
    pullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']),
  }),
  imagePullSecrets: z.array(z.string().min(1)),
  podSecurity: z.strictObject({
    runAsUser: z.number().int().min(1),
    runAsGroup: z.number().int().min(1),
  }),
  operator: z.strictObject({
    replicas: z.number().int().min(1).max(5),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']),
    metricsPort: z.number().int().min(1024).max(65535),
    extraArgs: z.array(z.string()),
    extraEnv: z.array(open),
    resources: resourceRequirementsSchema,
    ...placement,
    affinity: open,
    podAnnotations: labels,
    serviceAccount: z.strictObject({ create: z.boolean(), name: z.string(), annotations: labels }),
    rbac: z.strictObject({ create: z.boolean(), scope: z.enum(['namespace', 'cluster']) }),
    pdb: z.strictObject({ enabled: z.boolean(), minAvailable: z.number().int().min(0) }),
  }),
  nats: z.strictObject({
    enabled: z.boolean(),
    externalUrl: z.string().regex(/^(|(nats|tls):\/\/[^\s]+)$/),
    image: image('nats'),
    replicas: z.number().int().min(1).max(9),
    port: z.number().int().min(1024).max(65535),
    maxPayload: z.number().int().min(65_536).max(67_108_864),
    resources: resourceRequirementsSchema,
    ...placement,
    affinity: open,
    pdb: z.strictObject({ enabled: z.boolean(), maxUnavailable: z.number().int().min(1) }),
  }),
  redis: z.strictObject({
    enabled: z.boolean(),
    externalUrl: z.string().regex(/^(|(redis|rediss):\/\/[^\s]+)$/),
    image: image('redis'),
    resources: resourceRequirementsSchema,
    ...placement,
  }),
  duetService: z.strictObject({
    enabled: z.boolean(),
    name: z.string().max(48).regex(/^(|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$/),
    image: z.string().regex(/^(|[^\s]+)$/),
    model: z.strictObject({
      name: z.string().min(1).max(253),
      source: z.strictObject({
        type: z.enum(MODEL_SOURCE_KINDS),
        image: z.strictObject({ path: z.string().regex(/^(|\/.*)$/) }),
        pvc: z.strictObject({ claimName: z.string().regex(/^(|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$/), subPath: z.string().regex(/^(|[^/].*)$/) }),
        hostPath: z.strictObject({ path: z.string().regex(/^(|\/.*)$/) }),
      }),
      engine: engineSettingsSchema.partial(),
    }),
    prefill: poolValues,
    decode: poolValues,
    router: z.strictObject({ replicas: z.number().int().min(1).max(64), resources: resourceRequirementsSchema }),
    gateway: z.strictObject({
      replicas: z.number().int().min(1).max(256),
      serviceType: z.enum(SERVICE_TYPES),
      servicePort: z.number().int().min(1).max(65535),
      apiKeysSecret: z.string(),
      apiKeysSecretKey: z.string().min(1),
      resources: resourceRequirementsSchema,
    }),
  }),
  routingPolicy: z.strictObject({ enabled: z.boolean(), spec: open }),
  scalingPolicy: z.strictObject({ enabled: z.boolean(), spec: open }),
  monitoring: z.strictObject({
    serviceMonitor: z.strictObject({ enabled: z.boolean(), interval: z.string().regex(/^[0-9]+(ms|s|m|h)$/), labels }),
    prometheusRule: z.strictObject({ enabled: z.boolean(), labels }),
    grafanaDashboard: z.strictObject({ enabled: z.boolean(), namespace: z.string(), labels }),
  }),
  networkPolicy: z.strictObject({
    enabled: z.boolean(),
    gatewayFrom: z.array(open),
    metricsNamespaceSelector: open,
  }),
});

/**
 * values.schema.json (draft-07, the dialect Helm 3.17 validates). Helm merges user values over
 * values.yaml before validating, so every key is present: all are required.
 */
export function chartValuesJsonSchema(): Record<string, unknown> {
  const json = z.toJSONSchema(chartValuesSchema, { target: 'draft-7', io: 'input', reused: 'inline', unrepresentable: 'throw' });
  const { $schema, ...rest } = withoutKubernetesKeywords(json) as Record<string, unknown>;
  return { $schema, title: 'Values of the duet Helm chart', ...rest };
}

/** CEL rules and list-type hints mean nothing to Helm's validator; the CRD enforces them on apply. */
function withoutKubernetesKeywords(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutKubernetesKeywords);
  if (typeof node !== 'object' || node === null) return node;
  return Object.fromEntries(
    Object.entries(node).filter(([k]) => !k.startsWith('x-kubernetes-')).map(([k, v]) => [k, withoutKubernetesKeywords(v)]),
  );
}
