/**
 * The loose shapes of the objects the controller reads from informers and the API: custom
 * resources as JSON (their specs are parsed with the CRD schemas before use) and the few fields of
 * built-in objects the controller looks at.
 */
import type { DuetServiceStatus } from '../crds/index.ts';

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  deletionTimestamp?: string | Date;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Any Kubernetes object as the controller builds or reads it. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [field: string]: unknown;
}

export interface DuetServiceObject extends KubeObject {
  metadata: ObjectMeta;
  spec?: unknown;
  status?: DuetServiceStatus;
}

export interface PolicyObject extends KubeObject {
  metadata: ObjectMeta;
  spec?: unknown;
  status?: { observedGeneration?: number; conditions?: unknown[] };
}

/** What the status code reads from a Deployment (live, as the API returned it). */
export interface DeploymentView {
  metadata?: ObjectMeta;
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
  };
}

export const keyOf = (o: { metadata?: ObjectMeta }): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
