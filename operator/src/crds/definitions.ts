/**
 * The three Duet CRDs as data: names, the zod schemas of spec and status, printer columns. The
 * RoutingPolicy spec is the router's own policy document (`routingPolicySpecSchema` from
 * @duet/router) and the ScalingPolicy spec is the planner's (`scalingPolicySpecSchema`), so what
 * the API server admits, what the operator parses and what the router/planner run are one schema.
 *
 * No scale subresource: a DuetService has two independently sized pools, and `/scale` can address
 * only one replica path; scaling goes through `spec.<pool>.replicas` or a ScalingPolicy.
 */
import type { z } from 'zod';
import { routingPolicySpecSchema } from '@duet/router';
import { scalingPolicySpecSchema } from '../planner/policy.ts';
import { policyStatusSchema } from './common.ts';
import { duetServiceSpecSchema, duetServiceStatusSchema } from './duet-service.ts';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  /** 0 = shown by `kubectl get`; 1 = only with `-o wide`. */
  priority?: number;
}

export interface CrdDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  printerColumns: PrinterColumn[];
}

const age: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };
const accepted: PrinterColumn = {
  name: 'Accepted',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Accepted")].status',
  description: 'The spec parsed and was published.',
};

export const DUET_SERVICE: CrdDefinition = {
  kind: 'DuetService',
  plural: 'duetservices',
  singular: 'duetservice',
  shortNames: ['duet', 'dsvc'],
  description: 'A served model and the disaggregated cluster serving it: prefill and decode pools, router, gateway.',
  spec: duetServiceSpecSchema,
  status: duetServiceStatusSchema,
  printerColumns: [
    { name: 'Model', type: 'string', jsonPath: '.spec.model.name', description: 'Served model name.' },
    { name: 'Prefill', type: 'integer', jsonPath: '.status.prefill.readyReplicas', description: 'Ready prefill workers.' },
    { name: 'Decode', type: 'integer', jsonPath: '.status.decode.readyReplicas', description: 'Ready decode workers.' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status', description: 'Ready condition.' },
    { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason', priority: 1 },
    { name: 'Prefill-Desired', type: 'integer', jsonPath: '.status.prefill.desiredReplicas', priority: 1 },
    { name: 'Decode-Desired', type: 'integer', jsonPath: '.status.decode.desiredReplicas', priority: 1 },
    age,
  ],
};

export const ROUTING_POLICY: CrdDefinition = {
  kind: 'RoutingPolicy',
  plural: 'routingpolicies',
  singular: 'routingpolicy',
  shortNames: ['rpol'],
  description: "The router's configuration (plugins, weights, thresholds); applied to running routers without a restart.",
  spec: routingPolicySpecSchema,
  status: policyStatusSchema,
  printerColumns: [
    { name: 'Disaggregation', type: 'string', jsonPath: '.spec.disaggregation.mode' },
    { name: 'Threshold', type: 'integer', jsonPath: '.spec.disaggregation.localPrefillThresholdTokens', priority: 1 },
    accepted,
    age,
  ],
};

export const SCALING_POLICY: CrdDefinition = {
  kind: 'ScalingPolicy',
  plural: 'scalingpolicies',
  singular: 'scalingpolicy',
  shortNames: ['spol'],
  description: 'How the planner sizes the prefill and decode pools: SLO targets, thresholds, step limits, stabilisation windows, ratio bounds, drain timeout.',
  spec: scalingPolicySpecSchema,
  status: policyStatusSchema,
  printerColumns: [
    { name: 'TTFT-P90-ms', type: 'number', jsonPath: '.spec.prefill.slo.ttftP90Ms' },
    { name: 'TPOT-P90-ms', type: 'number', jsonPath: '.spec.decode.slo.tpotP90Ms' },
    { name: 'Interval-s', type: 'integer', jsonPath: '.spec.intervalSeconds', priority: 1 },
    accepted,
    age,
  ],
};

export const CRD_DEFINITIONS: readonly CrdDefinition[] = [DUET_SERVICE, ROUTING_POLICY, SCALING_POLICY];
