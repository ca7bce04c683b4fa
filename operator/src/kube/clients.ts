/**
 * The API clients the operator uses, made once from a KubeConfig, plus the resource descriptors
 * (group, version, plural, kind) of everything it watches or writes and their collection paths.
 */
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PolicyV1Api,
  type KubeConfig,
} from '@kubernetes/client-node';

export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

export const apiVersionOf = (r: ResourceRef): string => (r.group === '' ? r.version : `${r.group}/${r.version}`);

/** `/apis/apps/v1/namespaces/ns/deployments`, or the all-namespaces path when `namespace` is empty. */
export function collectionPath(r: ResourceRef, namespace: string): string {
  const root = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  return namespace ? `${root}/namespaces/${namespace}/${r.plural}` : `${root}/${r.plural}`;
}

export const RESOURCES = {
  duetService: { group: 'duet.dev', version: 'v1alpha1', plural: 'duetservices', kind: 'DuetService' },
  routingPolicy: { group: 'duet.dev', version: 'v1alpha1', plural: 'routingpolicies', kind: 'RoutingPolicy' },
  scalingPolicy: { group: 'duet.dev', version: 'v1alpha1', plural: 'scalingpolicies', kind: 'ScalingPolicy' },
  deployment: { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment' },
  service: { group: '', version: 'v1', plural: 'services', kind: 'Service' },
  configMap: { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap' },
  podDisruptionBudget: { group: 'policy', version: 'v1', plural: 'poddisruptionbudgets', kind: 'PodDisruptionBudget' },
} as const satisfies Record<string, ResourceRef>;

export class KubeClients {
  readonly apps: AppsV1Api;
  readonly core: CoreV1Api;
  readonly policy: PolicyV1Api;
  readonly coordination: CoordinationV1Api;
  readonly custom: CustomObjectsApi;
  /** Kind-generic create/patch/read/delete (resolves paths through discovery). */
  readonly objects: KubernetesObjectApi;

  constructor(readonly kc: KubeConfig) {
    this.apps = kc.makeApiClient(AppsV1Api);
    this.core = kc.makeApiClient(CoreV1Api);
    this.policy = kc.makeApiClient(PolicyV1Api);
    this.coordination = kc.makeApiClient(CoordinationV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.objects = KubernetesObjectApi.makeApiClient(kc);
  }
}
