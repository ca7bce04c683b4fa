/**
 * DuetService (duet.dev/v1alpha1): one served model and the cluster that serves it — the model
 * source and engine settings, the prefill and decode pools (each with its own replicas, bounds,
 * resources, placement and image, so the two can sit on different hardware), the router and
 * gateway, the NATS and Redis endpoints, and references to a RoutingPolicy and a ScalingPolicy.
 *
 * The operator reconciles it into Deployments, Services, ConfigMaps and PodDisruptionBudgets and
 * writes the status below. `duetServiceSpecSchema` is what the reconciler parses; the CRD's
 * OpenAPI schema is generated from it (defaults included, so the API server fills them too).
 */
import { z } from 'zod';
import {
  conditionsSchema,
  dnsLabel,
  localObjectRefSchema,
  nodeSelectorSchema,
  resourceRequirementsSchema,
  secretKeyRefSchema,
  tolerationSchema,
  withRules,
} from './common.ts';

const absolutePath = z.string().min(1).max(4096).regex(/^\//);
const relativePath = z.string().min(1).max(4096).regex(/^[^/]/);
const imageRef = z.string().min(1).max(512).regex(/^[^\s]+$/);

// ── model ───────────────────────────────────────────────────────────────────────────────────────

export const MODEL_SOURCE_KINDS = ['pvc', 'hostPath', 'image'] as const;

/** Where the Hugging Face model folder comes from; exactly one of the three is set. */
export const modelSourceSchema = withRules(
  z.object({
    pvc: z
      .object({
        claimName: dnsLabel.meta({ description: 'PersistentVolumeClaim holding the model, same namespace (mounted read-only).' }),
        subPath: relativePath.optional().meta({ description: 'Folder inside the volume; default its root.' }),
      })
      .optional()
      .meta({ description: 'Model folder on a PersistentVolumeClaim (ReadOnlyMany for more than one node).' }),
    hostPath: z
      .object({ path: absolutePath.meta({ description: 'Absolute path of the model folder on the node.' }) })
      .optional()
      .meta({ description: 'Model folder on each node (pre-seeded nodes; pin the pools with nodeSelector).' }),
    image: z
      .object({ path: absolutePath.meta({ description: 'Absolute path of the model folder inside the pool image.' }) })
      .optional()
      .meta({ description: 'Model folder baked into the container image.' }),
  }),
  [
    {
      rule: "[has(self.pvc), has(self.hostPath), has(self.image)].filter(x, x).size() == 1",
      message: 'exactly one of pvc, hostPath or image must be set',
      holds: (s) => [s.pvc, s.hostPath, s.image].filter((x) => x !== undefined).length === 1,
    },
  ],
  'Where the model folder (config.json, *.safetensors, tokenizer.json) comes from: exactly one of pvc, hostPath, image.',
);
export type ModelSource = z.output<typeof modelSourceSchema>;

export const ENGINE_BACKENDS = ['wasm', 'cpu', 'tensorflow'] as const;

export const engineSettingsSchema = z.object({
  backend: z
    .enum(ENGINE_BACKENDS)
    .default('wasm')
    .meta({ description: 'TensorFlow.js backend: `wasm` (CPU image), `cpu` (debugging), `tensorflow` (GPU image, tfjs-node-gpu).' }),
  dtype: z
    .enum(['f32'])
    .default('f32')
    .meta({ description: 'Compute dtype. The engine computes in f32; f16/bf16 weights on disk are upcast at load.' }),
  blockSize: z.number().int().min(1).max(1024).default(16).meta({ description: 'Tokens per KV block (gateway and workers must agree: block hashes depend on it).' }),
  maxBatchTokens: z.number().int().min(1).max(1_048_576).default(512).meta({ description: 'Token budget of one scheduler step (decodes + prefill chunks).' }),
  maxRunningSeqs: z.number().int().min(1).max(65_536).default(64).meta({ description: 'Sequences running at once per worker.' }),
  kvCacheMiB: z.number().int().min(1).max(1_048_576).default(256).meta({ description: 'Memory for the paged KV cache per worker, MiB.' }),
  threads: z
    .number()
    .int()
    .min(0)
    .max(256)
    .default(0)
    .meta({ description: "Engine compute threads per worker (DUET_THREADS); 0 = auto: two for models that read ≥ 32 MiB of weights per token, else one. Match the pod's CPU limit." }),
});
export type EngineSettings = z.output<typeof engineSettingsSchema>;

export const modelSpecSchema = z.object({
  name: z
    .string()
    .min(1)
    .max(253)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/)
    .meta({ description: 'Served model name (the `model` clients ask for).' }),
  source: modelSourceSchema,
  tokenizer: z
    .object({ path: relativePath.optional().meta({ description: 'Folder, relative to the model source, holding tokenizer.json and tokenizer_config.json; default the model folder.' }) })
    .prefault({})
    .meta({ description: 'Tokenizer location (the gateway tokenizes and applies the chat template).' }),
  engine: engineSettingsSchema.prefault({}),
});
export type ModelSpec = z.output<typeof modelSpecSchema>;

// ── pools ───────────────────────────────────────────────────────────────────────────────────────

export const KV_TRANSPORTS = ['nats', 'tcp'] as const;

const poolObject = z.object({
  replicas: z.number().int().min(0).default(1).meta({ description: 'Replicas while no ScalingPolicy applies; the starting point when one does.' }),
  minReplicas: z.number().int().min(0).default(1).meta({ description: 'Lower bound the planner keeps.' }),
  maxReplicas: z.number().int().min(1).default(4).meta({ description: 'Upper bound the planner keeps.' }),
  resources: resourceRequirementsSchema.prefault({}).meta({ description: 'Container resources of each worker.' }),
  nodeSelector: nodeSelectorSchema.default({}).meta({ description: 'Node labels the pool is pinned to (different hardware per pool).' }),
  tolerations: z.array(tolerationSchema).max(32).default([]).meta({ description: 'Tolerations of the pool’s pods.' }),
  image: imageRef.optional().meta({ description: 'Image of this pool; default `spec.image` (e.g. the GPU image for one pool only).' }),
  transport: z
    .enum(KV_TRANSPORTS)
    .default('nats')
    .meta({ description: 'KV transport: `nats` (through the server) or `tcp` (direct sockets negotiated over NATS, faster).' }),
});

const poolRules = [
  {
    rule: 'self.minReplicas <= self.maxReplicas',
    message: 'minReplicas must be <= maxReplicas',
    fieldPath: '.minReplicas',
    holds: (p: z.output<typeof poolObject>) => p.minReplicas <= p.maxReplicas,
  },
  {
    rule: 'self.replicas >= self.minReplicas && self.replicas <= self.maxReplicas',
    message: 'replicas must lie within [minReplicas, maxReplicas]',
    fieldPath: '.replicas',
    holds: (p: z.output<typeof poolObject>) => p.replicas >= p.minReplicas && p.replicas <= p.maxReplicas,
  },
];

export const poolSpecSchema = withRules(poolObject, poolRules, 'A pool of workers in one role.');
export type PoolSpec = z.output<typeof poolSpecSchema>;

// ── router, gateway, endpoints ──────────────────────────────────────────────────────────────────

export const routerSpecSchema = z.object({
  replicas: z.number().int().min(1).max(64).default(1).meta({ description: 'Router replicas (they share placement through a NATS queue group; more than one needs Redis).' }),
  policyRef: localObjectRefSchema.optional().meta({ description: 'RoutingPolicy applied live to the routers; default the built-in policy.' }),
  resources: resourceRequirementsSchema.prefault({}),
});
export type RouterSpec = z.output<typeof routerSpecSchema>;

export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer'] as const;

export const gatewaySpecSchema = z.object({
  replicas: z.number().int().min(1).max(256).default(1).meta({ description: 'Gateway replicas.' }),
  service: z
    .object({
      type: z.enum(SERVICE_TYPES).default('ClusterIP'),
      port: z.number().int().min(1).max(65535).default(80).meta({ description: 'Service port (the container listens on 8080).' }),
    })
    .prefault({})
    .meta({ description: 'The Service in front of the gateway (OpenAI-compatible HTTP).' }),
  apiKeys: z
    .object({ secretRef: secretKeyRefSchema })
    .optional()
    .meta({ description: 'API keys (`key=tenant,…`) from a Secret; absent = no authentication.' }),
  resources: resourceRequirementsSchema.prefault({}),
});
export type GatewaySpec = z.output<typeof gatewaySpecSchema>;

const url = (schemes: string) => z.string().min(1).max(2048).regex(new RegExp(`^(${schemes})://[^\\s]+$`));

export const natsSpecSchema = z.object({
  url: url('nats|tls').meta({ description: 'NATS URL every component connects to (`nats://host:4222`).' }),
});
export const redisSpecSchema = z.object({
  url: url('redis|rediss').meta({ description: 'Redis URL (`redis://host:6379`): shared router accounting, gateway rate limits.' }),
});

// ── DuetService ─────────────────────────────────────────────────────────────────────────────────

const duetServiceSpecObject = z.object({
  image: imageRef.meta({ description: 'Default image of every component (`registry/duet:tag-cpu`); pools may override it.' }),
  imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
  model: modelSpecSchema,
  prefill: poolSpecSchema.prefault({}).meta({ description: 'Prefill pool: runs prompts and ships their KV to decode workers. 0 replicas = aggregated (decode prefills locally).' }),
  decode: poolSpecSchema.prefault({}).meta({ description: 'Decode pool: receives KV and generates tokens (continuous batching).' }),
  router: routerSpecSchema.prefault({}),
  gateway: gatewaySpecSchema.prefault({}),
  nats: natsSpecSchema,
  redis: redisSpecSchema.optional().meta({ description: 'Optional Redis; required when router.replicas > 1.' }),
  scalingPolicyRef: localObjectRefSchema.optional().meta({ description: 'ScalingPolicy the planner sizes the pools with; absent = fixed `replicas`.' }),
});

/**
 * The DuetService spec with its cross-field rules. The reconciler parses `spec` with this (zod
 * applies the same defaults the API server does and reports the path of a bad value).
 */
export const duetServiceSpecSchema = withRules(duetServiceSpecObject, [
  {
    rule: 'self.router.replicas <= 1 || has(self.redis)',
    message: 'more than one router replica needs redis (shared in-flight accounting)',
    fieldPath: '.router.replicas',
    holds: (s) => s.router.replicas <= 1 || s.redis !== undefined,
  },
]);

/** The spec as the reconciler sees it (defaults applied). */
export type DuetServiceSpec = z.output<typeof duetServiceSpecSchema>;
/** The spec as a user writes it. */
export type DuetServiceSpecInput = z.input<typeof duetServiceSpecSchema>;

// ── status ──────────────────────────────────────────────────────────────────────────────────────

export const poolStatusSchema = z.object({
  desiredReplicas: z.number().int().min(0).default(0).meta({ description: 'Replicas the operator (planner) wants.' }),
  readyReplicas: z.number().int().min(0).default(0).meta({ description: 'Replicas whose pods are ready.' }),
});
export type PoolStatus = z.output<typeof poolStatusSchema>;

export const duetServiceStatusSchema = z.object({
  observedGeneration: z.number().int().min(0).optional().meta({ description: 'metadata.generation the status describes.' }),
  prefill: poolStatusSchema.optional(),
  decode: poolStatusSchema.optional(),
  router: poolStatusSchema.optional(),
  gateway: poolStatusSchema.optional(),
  endpoint: z.string().max(2048).optional().meta({ description: 'In-cluster URL of the gateway (`http://<name>-gateway.<ns>.svc:<port>`).' }),
  conditions: conditionsSchema.optional().meta({ description: 'Ready, Progressing, Degraded (each with reason, message, lastTransitionTime).' }),
});
export type DuetServiceStatus = z.output<typeof duetServiceStatusSchema>;
