/** The loose object shapes the double stores: any Kubernetes object, and its metadata. */

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
}

export interface StoredObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  /** The global resourceVersion this event produced. */
  rv: number;
  type: WatchEventType;
  /** `${group}/${plural}` (resources.ts resourceId). */
  resource: string;
  object: StoredObject;
  /** For MODIFIED: the object before the change (a selector-filtered watch needs both). */
  previous?: StoredObject;
}
