/**
 * The policies a DuetService references, resolved from the informer caches and validated with the
 * schemas their consumers use (the router's RoutingPolicy schema, the planner's ScalingPolicy
 * schema), so a policy the operator accepts is one the router and planner accept:
 *  - a RoutingPolicy becomes the router's policy document (apiVersion, kind, metadata.name and
 *    generation, spec), published through the ConfigMap and NATS;
 *  - a ScalingPolicy is parsed into the planner's spec (its drain timeout sets the workers' grace).
 * A reference to a missing or invalid policy is a Problem (Degraded), never a crash; routers keep
 * the last good policy.
 * `policyAcceptance` is the Accepted condition each policy object reports about itself.
 */
import { compilePolicy, PolicyError } from '@duet/router';
import { parseScalingPolicySpec, type ScalingPolicySpec } from '../planner/index.ts';
import { DUET_API_VERSION, type LocalObjectRef } from '../crds/index.ts';
import type { Problem } from './status.ts';
import type { PolicyObject } from './types.ts';

export type Resolved<T> = { state: 'none' } | { state: 'ok'; value: T } | { state: 'problem'; problem: Problem };

export interface RoutingPolicyDoc {
  name: string;
  generation: number;
  documentJson: string;
}

/** The RoutingPolicy as the router's document, or why it cannot be used. */
export function resolveRoutingPolicy(ref: LocalObjectRef | undefined, lookup: (name: string) => PolicyObject | undefined): Resolved<RoutingPolicyDoc> {
  if (!ref) return { state: 'none' };
  const obj = lookup(ref.name);
  if (!obj) return { state: 'problem', problem: { reason: 'RoutingPolicyNotFound', message: `RoutingPolicy "${ref.name}" (spec.router.policyRef) does not exist` } };
  const generation = obj.metadata.generation ?? 0;
  const doc = { apiVersion: DUET_API_VERSION, kind: 'RoutingPolicy', metadata: { name: ref.name, generation }, spec: obj.spec ?? {} };
  try {
    // The routers' own compiler: shape, plugin types and every plugin's parameters.
    compilePolicy(doc);
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
    return { state: 'problem', problem: { reason: 'InvalidRoutingPolicy', message: `RoutingPolicy "${ref.name}": ${err.message}` } };
  }
  return { state: 'ok', value: { name: ref.name, generation, documentJson: JSON.stringify(doc) } };
}

export function resolveScalingPolicy(ref: LocalObjectRef | undefined, lookup: (name: string) => PolicyObject | undefined): Resolved<ScalingPolicySpec> {
  if (!ref) return { state: 'none' };
  const obj = lookup(ref.name);
  if (!obj) return { state: 'problem', problem: { reason: 'ScalingPolicyNotFound', message: `ScalingPolicy "${ref.name}" (spec.scalingPolicyRef) does not exist` } };
  try {
    return { state: 'ok', value: parseScalingPolicySpec(obj.spec ?? {}, { source: `ScalingPolicy ${ref.name}`, pathPrefix: 'spec' }) };
  } catch (err) {
    return { state: 'problem', problem: { reason: 'InvalidScalingPolicy', message: err instanceof Error ? err.message : String(err) } };
  }
}

/** The Accepted condition of a policy object: its spec parses with its consumer's schema. */
export function policyAcceptance(kind: 'RoutingPolicy' | 'ScalingPolicy', obj: PolicyObject): { accepted: boolean; reason: string; message: string } {
  const name = obj.metadata.name ?? '';
  const r = kind === 'RoutingPolicy' ? resolveRoutingPolicy({ name }, () => obj) : resolveScalingPolicy({ name }, () => obj);
  if (r.state === 'ok') return { accepted: true, reason: 'Valid', message: 'the spec is valid and is applied to the services that reference it' };
  return { accepted: false, reason: 'InvalidSpec', message: r.state === 'problem' ? r.problem.message : '' };
}
