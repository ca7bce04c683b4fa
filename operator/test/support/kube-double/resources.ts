/**
 * The resource types the API server double serves: group, version, plural, kind, scope and
 * subresources, as a real server's discovery documents list them. The table is the only place a
 * path segment (`deployments`) is tied to a kind (`Deployment`); the store and the HTTP layer look
 * everything up here, so adding a kind for a test is one line.
 */

export interface ScaleSpec {
  /** Dotted paths inside the object. */
  specReplicasPath: string;
  statusReplicasPath: string;
  /** A dotted path to a label-selector string, or 'matchLabels' to derive it from spec.selector. */
  labelSelectorPath: string;
}

export interface ResourceDef {
  group: string;
  version: string;
  /** Plural, lower case: the URL segment. */
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  /** Writes to the main resource keep the stored status; /status writes change only status. */
  statusSubresource: boolean;
  scale?: ScaleSpec;
}

export const groupVersion = (d: Pick<ResourceDef, 'group' | 'version'>): string => (d.group === '' ? d.version : `${d.group}/${d.version}`);
export const resourceId = (d: Pick<ResourceDef, 'group' | 'plural'>): string => `${d.group}/${d.plural}`;

const deploymentScale: ScaleSpec = { specReplicasPath: 'spec.replicas', statusReplicasPath: 'status.replicas', labelSelectorPath: 'matchLabels' };

const core = (plural: string, kind: string, extra: Partial<ResourceDef> = {}): ResourceDef => ({
  group: '',
  version: 'v1',
  plural,
  singular: kind.toLowerCase(),
  kind,
  namespaced: true,
  statusSubresource: false,
  ...extra,
});

/** What a Duet operator touches, plus Pods and Namespaces for tests that need them. */
export const BUILTIN_RESOURCES: readonly ResourceDef[] = [
  core('namespaces', 'Namespace', { namespaced: false, statusSubresource: true }),
  core('configmaps', 'ConfigMap'),
  core('secrets', 'Secret'),
  core('services', 'Service', { statusSubresource: true }),
  core('pods', 'Pod', { statusSubresource: true }),
  core('events', 'Event'),
  core('serviceaccounts', 'ServiceAccount'),
  { group: 'apps', version: 'v1', plural: 'deployments', singular: 'deployment', kind: 'Deployment', namespaced: true, statusSubresource: true, scale: deploymentScale },
  { group: 'apps', version: 'v1', plural: 'statefulsets', singular: 'statefulset', kind: 'StatefulSet', namespaced: true, statusSubresource: true, scale: deploymentScale },
  { group: 'policy', version: 'v1', plural: 'poddisruptionbudgets', singular: 'poddisruptionbudget', kind: 'PodDisruptionBudget', namespaced: true, statusSubresource: true },
  { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', singular: 'lease', kind: 'Lease', namespaced: true, statusSubresource: false },
  { group: 'events.k8s.io', version: 'v1', plural: 'events', singular: 'event', kind: 'Event', namespaced: true, statusSubresource: false },
];

/** The three Duet custom resources, as their CRDs declare them (status subresource on each). */
export const DUET_RESOURCES: readonly ResourceDef[] = [
  { group: 'duet.dev', version: 'v1alpha1', plural: 'duetservices', singular: 'duetservice', kind: 'DuetService', namespaced: true, statusSubresource: true },
  { group: 'duet.dev', version: 'v1alpha1', plural: 'routingpolicies', singular: 'routingpolicy', kind: 'RoutingPolicy', namespaced: true, statusSubresource: true },
  { group: 'duet.dev', version: 'v1alpha1', plural: 'scalingpolicies', singular: 'scalingpolicy', kind: 'ScalingPolicy', namespaced: true, statusSubresource: true },
];

export class ResourceTable {
  private readonly byPath = new Map<string, ResourceDef>();
  private readonly byKind = new Map<string, ResourceDef>();

  constructor(defs: readonly ResourceDef[]) {
    for (const d of defs) {
      this.byPath.set(`${groupVersion(d)}/${d.plural}`, d);
      this.byKind.set(`${groupVersion(d)}/${d.kind}`, d);
    }
  }

  /** By URL: group '' for the core API. */
  lookup(group: string, version: string, plural: string): ResourceDef | undefined {
    return this.byPath.get(`${groupVersion({ group, version })}/${plural}`);
  }

  /** By apiVersion ('apps/v1') and kind. */
  forKind(apiVersion: string, kind: string): ResourceDef | undefined {
    return this.byKind.get(`${apiVersion}/${kind}`);
  }

  all(): ResourceDef[] {
    return [...this.byPath.values()];
  }

  groupVersions(): string[] {
    return [...new Set(this.all().map(groupVersion))];
  }
}
