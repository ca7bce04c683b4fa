/**
 * Every name the operator gives to what it creates, in one place: child object names, labels,
 * annotations, the finalizer, mount paths, container ports and the NATS subject prefix of a
 * DuetService. The chart, the images and the docs must agree with these; a test pins them.
 *
 *   DuetService "llama" in namespace "duet" →
 *     Deployments   llama-prefill, llama-decode, llama-router, llama-gateway
 *     Services      llama-gateway (the endpoint), llama-metrics (headless, for scraping)
 *     ConfigMaps    llama-config (shared DUET_* env), llama-routing-policy (policy.json)
 *     PDBs          llama-prefill, llama-decode, llama-router, llama-gateway
 *     NATS prefix   duet.duet.llama
 */

export const COMPONENTS = ['prefill', 'decode', 'router', 'gateway'] as const;
export type Component = (typeof COMPONENTS)[number];
export const POOL_COMPONENTS = ['prefill', 'decode'] as const;
export type PoolComponent = (typeof POOL_COMPONENTS)[number];

/** Removed only after the operator has cleaned up (autoscaler stopped, Event recorded). */
export const FINALIZER = 'duet.dev/finalizer';
/** JSON of what the operator last applied to a child: the base of its three-way merge patches. */
export const LAST_APPLIED_ANNOTATION = 'duet.dev/last-applied';
/** Hash of the shared config on pod templates, so a config change rolls the pods that read it. */
export const CONFIG_HASH_ANNOTATION = 'duet.dev/config-hash';
export const MANAGED_BY = 'duet-operator';

export const LABELS = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  partOf: 'app.kubernetes.io/part-of',
  managedBy: 'app.kubernetes.io/managed-by',
  /** `prefill` or `decode` on worker pods (the planner and the drain select pods by it). */
  pool: 'duet.dev/pool',
  /** The owning DuetService's name. */
  service: 'duet.dev/service',
} as const;

/** Port numbers and names inside the pods. */
export const PORTS = { gatewayHttp: 8080, metrics: 9090 } as const;

/** Where volumes are mounted in the containers. */
export const PATHS = {
  modelDir: '/models',
  routingPolicyDir: '/etc/duet/routing-policy',
  routingPolicyFile: '/etc/duet/routing-policy/policy.json',
  tmp: '/tmp',
} as const;
export const ROUTING_POLICY_KEY = 'policy.json';

export const childName = (service: string, component: Component | 'metrics' | 'config' | 'routing-policy'): string => `${service}-${component}`;

/** The labels a Deployment selects its pods by (immutable once created: keep this set stable). */
export function selectorLabels(service: string, component: Component): Record<string, string> {
  return { [LABELS.name]: 'duet', [LABELS.instance]: service, [LABELS.component]: component };
}

/** Every label on a child object and its pods. */
export function labelsFor(service: string, component?: Component): Record<string, string> {
  const base: Record<string, string> = {
    [LABELS.name]: 'duet',
    [LABELS.instance]: service,
    [LABELS.partOf]: 'duet',
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.service]: service,
  };
  if (component === undefined) return base;
  return {
    ...base,
    [LABELS.component]: component,
    ...(component === 'prefill' || component === 'decode' ? { [LABELS.pool]: component } : {}),
  };
}

/** Label selector of everything the operator manages (its owned-object informers use it). */
export const MANAGED_SELECTOR = `${LABELS.managedBy}=${MANAGED_BY}`;

/**
 * NATS subject prefix of one DuetService: `duet.<namespace>.<name>`, so services sharing a NATS
 * server never see each other's workers, placements or policy updates. Kubernetes names cannot
 * contain NATS wildcards or spaces; a '.' (allowed in some names) becomes '_'.
 */
export function subjectPrefixFor(namespace: string, name: string): string {
  const token = (s: string): string => s.replace(/\./g, '_');
  return `duet.${token(namespace)}.${token(name)}`;
}

/** Longest DuetService name whose child names stay valid DNS labels (63 − "-routing-policy"). */
export const MAX_SERVICE_NAME_LENGTH = 63 - '-routing-policy'.length;
