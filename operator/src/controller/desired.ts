/**
 * The desired state of a DuetService: a pure function from the parsed spec (plus what the
 * reconciler resolved: replicas, the routing policy document, the drain timeout) to the list of
 * child objects, each labelled and owned by the DuetService (controller owner reference, so the
 * garbage collector removes them with it). Same input, same output: that is what makes the
 * reconcile idempotent.
 */
import type { DuetServiceSpec } from '../crds/index.ts';
import { configMap, disruptionBudgets, gatewayService, hashOf, metricsService, routingPolicyConfigMap, sharedEnv } from './objects.ts';
import type { KubeObject, OwnerReference } from './types.ts';
import { gatewayDeployment, poolDeployment, routerDeployment } from './workloads.ts';

export interface OwnerInfo {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid: string;
}

export interface DesiredInput {
  owner: OwnerInfo;
  spec: DuetServiceSpec;
  subjectPrefix: string;
  /** Worker replicas per pool, already resolved (fixed spec, or the autoscaler's, within bounds). */
  replicas: { prefill: number; decode: number };
  /** The ScalingPolicy's drain timeout, when one applies (sets the workers' grace period). */
  drainTimeoutSeconds?: number;
  /** Hash of the shared config, stamped on pod templates. */
  configHash: string;
}

export interface DesiredOptions {
  /** The routing policy document to publish (JSON); undefined = leave the policy ConfigMap alone. */
  routingPolicyJson?: string;
}

export function ownerReference(o: OwnerInfo): OwnerReference {
  return { apiVersion: o.apiVersion, kind: o.kind, name: o.name, uid: o.uid, controller: true, blockOwnerDeletion: true };
}

/** Input minus the config hash → the full input (the hash is derived from the shared env). */
export function withConfigHash(input: Omit<DesiredInput, 'configHash'>): DesiredInput {
  return { ...input, configHash: hashOf(sharedEnv(input)) };
}

/** Every child object, owned by the DuetService. Order = apply order (config before workloads). */
export function desiredChildren(input: DesiredInput, opts: DesiredOptions = {}): KubeObject[] {
  const children: KubeObject[] = [
    configMap(input, sharedEnv(input)),
    ...(opts.routingPolicyJson !== undefined ? [routingPolicyConfigMap(input, opts.routingPolicyJson)] : []),
    poolDeployment(input, 'prefill'),
    poolDeployment(input, 'decode'),
    routerDeployment(input),
    gatewayDeployment(input),
    gatewayService(input),
    metricsService(input),
    ...disruptionBudgets(input),
  ] as KubeObject[];
  const ref = ownerReference(input.owner);
  for (const c of children) c.metadata = { ...c.metadata, ownerReferences: [ref] };
  return children;
}
