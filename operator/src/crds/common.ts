/**
 * Building blocks shared by the three CRD schemas (DuetService, RoutingPolicy, ScalingPolicy):
 * Kubernetes-shaped pieces (resource quantities, tolerations, object references, conditions) and
 * `withRules`, which attaches one cross-field rule in two forms side by side — the CEL expression
 * the API server evaluates (`x-kubernetes-validations`) and the same predicate in TypeScript that
 * zod runs — so a document the operator parses and one the API server admits agree.
 *
 * These zod schemas are the single source of truth: the CRD YAML (charts/duet/crds/) and the CRD
 * reference (docs/crd-reference.md) are generated from them by `npm run crds:gen`.
 */
import { z } from 'zod';

/** API group and version of every Duet CRD. */
export const DUET_GROUP = 'duet.dev';
export const DUET_VERSION = 'v1alpha1';
export const DUET_API_VERSION = `${DUET_GROUP}/${DUET_VERSION}`;

/** One cross-field rule: CEL for the API server, `holds` for zod; both must say the same thing. */
export interface CrossFieldRule<T> {
  /** CEL expression over `self` (the object the rule is attached to). */
  rule: string;
  message: string;
  /** JSON path of the field the error points at, relative to `self` (e.g. `.minReplicas`). */
  fieldPath?: string;
  holds: (value: T) => boolean;
}

/** `.minReplicas` → ['minReplicas'] (zod issue path). */
function issuePath(fieldPath: string | undefined): string[] {
  return fieldPath ? fieldPath.split('.').filter((p) => p !== '') : [];
}

/** Attaches rules to an object schema: a zod refinement plus `x-kubernetes-validations` metadata. */
export function withRules<S extends z.ZodType>(schema: S, rules: readonly CrossFieldRule<z.output<S>>[], description?: string): S {
  const refined = schema.superRefine((value, ctx) => {
    for (const r of rules) {
      if (!r.holds(value)) ctx.addIssue({ code: 'custom', message: r.message, path: issuePath(r.fieldPath) });
    }
  });
  const validations = rules.map(({ rule, message, fieldPath }) => (fieldPath ? { rule, message, fieldPath } : { rule, message }));
  return refined.meta({ ...(description ? { description } : {}), 'x-kubernetes-validations': validations });
}

/** A DNS-1123 label (names of Kubernetes objects referenced from a spec). */
export const dnsLabel = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);

/** A reference to an object of a known kind in the same namespace. */
export const localObjectRefSchema = z.object({ name: dnsLabel.meta({ description: 'Name of the object, same namespace.' }) });
export type LocalObjectRef = z.output<typeof localObjectRefSchema>;

/** A key of a Secret in the same namespace. */
export const secretKeyRefSchema = z.object({
  name: dnsLabel.meta({ description: 'Secret name, same namespace.' }),
  key: z.string().min(1).max(253).default('apiKeys').meta({ description: 'Key in the Secret whose value is the `key=tenant,…` list.' }),
});
export type SecretKeyRef = z.output<typeof secretKeyRefSchema>;

/** Kubernetes resource quantity (`500m`, `2Gi`, `1`), as the API server accepts it: int or string. */
export const QUANTITY_PATTERN = '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';
export const quantitySchema = z.union([z.number().int().min(0), z.string().regex(new RegExp(QUANTITY_PATTERN))]);

export const resourceListSchema = z.record(z.string().min(1), quantitySchema);
export const resourceRequirementsSchema = z.object({
  requests: resourceListSchema.optional().meta({ description: 'Minimum resources (`cpu`, `memory`, `nvidia.com/gpu`, …).' }),
  limits: resourceListSchema.optional().meta({ description: 'Maximum resources.' }),
});
export type ResourceRequirements = z.output<typeof resourceRequirementsSchema>;

export const tolerationSchema = z.object({
  key: z.string().max(316).optional(),
  operator: z.enum(['Exists', 'Equal']).optional(),
  value: z.string().max(63).optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  tolerationSeconds: z.number().int().optional(),
});
export type Toleration = z.output<typeof tolerationSchema>;

export const nodeSelectorSchema = z.record(z.string().min(1).max(316), z.string().max(63));

/** Condition types a DuetService reports. */
export const CONDITION_TYPES = ['Ready', 'Progressing', 'Degraded'] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];
/** Condition type a RoutingPolicy or ScalingPolicy reports: the spec parsed and was applied. */
export const POLICY_CONDITION_TYPES = ['Accepted'] as const;

/** metav1.Condition with `type` restricted to `types`. */
export function conditionSchemaOf<const T extends readonly [string, ...string[]]>(types: T) {
  return z.object({
    type: z.enum(types),
    status: z.enum(['True', 'False', 'Unknown']),
    reason: z.string().min(1).max(1024).regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/).meta({ description: 'CamelCase machine-readable reason.' }),
    message: z.string().max(32768).default('').meta({ description: 'Human-readable detail.' }),
    lastTransitionTime: z.string().min(1).meta({ description: 'RFC 3339 time the status last changed.', format: 'date-time' }),
    observedGeneration: z.number().int().min(0).optional().meta({ description: 'metadata.generation the condition was computed from.' }),
  });
}

/** A list of conditions keyed by type (server-side apply merges by `type`). */
export function conditionsSchemaOf<const T extends readonly [string, ...string[]]>(types: T) {
  return z
    .array(conditionSchemaOf(types))
    .max(8)
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] });
}

export const conditionSchema = conditionSchemaOf(CONDITION_TYPES);
export type Condition = z.output<typeof conditionSchema>;
export const conditionsSchema = conditionsSchemaOf(CONDITION_TYPES);

/** Status of a RoutingPolicy or ScalingPolicy. */
export const policyStatusSchema = z.object({
  observedGeneration: z.number().int().min(0).optional().meta({ description: 'metadata.generation the status describes.' }),
  conditions: conditionsSchemaOf(POLICY_CONDITION_TYPES).optional().meta({ description: 'Accepted: the spec parsed and was published (reason and message name a bad field otherwise).' }),
});
export type PolicyStatus = z.output<typeof policyStatusSchema>;
export type PolicyCondition = NonNullable<PolicyStatus['conditions']>[number];
