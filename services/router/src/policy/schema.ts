/**
 * The RoutingPolicy document: one shape for the router's policy file, the NATS PolicyUpdate and the
 * `RoutingPolicy` custom resource (the operator generates the CRD schema from `routingPolicySpecSchema`).
 *
 *   apiVersion: duet.dev/v1alpha1
 *   kind: RoutingPolicy
 *   metadata: { name: default }
 *   spec:
 *     decode:  { filters: [...], producers: [...], scorers: [{type, weight, parameters}], picker: {...} }
 *     prefill: { ... same stage shape ... }
 *     disaggregation: { mode: auto|always|never, localPrefillThresholdTokens: 256 }
 *
 * Plugin `parameters` are free-form here and validated by each plugin's own schema when the policy
 * is compiled (see compile.ts), so an error names the full path, e.g.
 * `spec.decode.scorers[1].parameters.scaleTokens: expected number`.
 */
import { z } from 'zod';

export const ROUTING_POLICY_API_VERSION = 'duet.dev/v1alpha1';
export const ROUTING_POLICY_KIND = 'RoutingPolicy';

const kebabType = z
  .string()
  .regex(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, 'must be a kebab-case plugin type, e.g. prefix-affinity')
  .describe('Plugin type, as registered in services/router/src/plugins/registry.ts.');

const parameters = z
  .record(z.string(), z.unknown())
  .default({})
  .describe("The plugin's parameters; each plugin documents and validates its own.");

export const pluginRefSchema = z
  .object({
    type: kebabType,
    parameters,
  })
  .describe('A filter, producer or picker.');

export const scorerRefSchema = z
  .object({
    type: kebabType,
    weight: z.number().min(0).default(1).describe('Relative weight of this scorer in the weighted sum (scores are in [0,1]).'),
    parameters,
  })
  .describe('A scorer with its weight.');

export const stageSchema = z
  .object({
    filters: z
      .array(pluginRefSchema)
      .default([{ type: 'healthy', parameters: {} }])
      .describe('Run in order; a candidate must pass every filter.'),
    producers: z
      .array(pluginRefSchema)
      .default([])
      .describe('Data producers to run explicitly (with parameters); producers a scorer needs are added automatically.'),
    scorers: z.array(scorerRefSchema).default([]).describe('Weighted scorers; none means every candidate scores 0 and the picker breaks the tie.'),
    picker: pluginRefSchema.default({ type: 'max-score', parameters: {} }).describe('Chooses one candidate from the scores.'),
  })
  .describe('One placement stage: filters → producers → scorers → picker.');

export const disaggregationSchema = z
  .object({
    mode: z
      .enum(['auto', 'always', 'never'])
      .default('auto')
      .describe('auto: prefill on a prefill worker unless the uncached part of the prompt is below the threshold; always: whenever a prefill worker is available; never: aggregated (the decode worker prefills).'),
    localPrefillThresholdTokens: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('In auto mode, a prompt whose uncached part on the chosen decode worker is below this many tokens is prefilled there.'),
  })
  .describe('Conditional disaggregation.');

export const routingPolicySpecSchema = z
  .object({
    decode: stageSchema.default(stageSchema.parse({})).describe('How the decode worker is chosen (chosen first: the request lives there).'),
    prefill: stageSchema.default(stageSchema.parse({})).describe('How the prefill worker is chosen, when the request is disaggregated.'),
    disaggregation: disaggregationSchema.default(disaggregationSchema.parse({})),
    decisionLog: z
      .boolean()
      .default(false)
      .describe("Log every decision at info level with every candidate's score breakdown (it is always logged at debug)."),
  })
  .describe('The router configuration: plugins, weights, thresholds.');

export const routingPolicySchema = z.object({
  apiVersion: z.literal(ROUTING_POLICY_API_VERSION),
  kind: z.literal(ROUTING_POLICY_KIND),
  metadata: z.object({ name: z.string().min(1), generation: z.number().int().min(0).optional() }).loose(),
  spec: routingPolicySpecSchema,
});

export type PluginRef = z.output<typeof pluginRefSchema>;
export type ScorerRef = z.output<typeof scorerRefSchema>;
export type StageSpec = z.output<typeof stageSchema>;
export type RoutingPolicySpec = z.output<typeof routingPolicySpecSchema>;
export type RoutingPolicySpecInput = z.input<typeof routingPolicySpecSchema>;
export type RoutingPolicyDocument = z.output<typeof routingPolicySchema>;
