/**
 * The pool planner, pure and importable on its own (`@duet/operator/planner`): the simulator and
 * the local launcher use it without loading the Kubernetes client or connecting to NATS.
 */
export {
  MAX_POOL_REPLICAS,
  POOLS,
  ScalingPolicyError,
  decodePoolPolicySchema,
  defaultScalingPolicySpec,
  parseScalingPolicySpec,
  prefillPoolPolicySchema,
  prefillRangeFor,
  prefillToDecodeRatioSchema,
  scalingPolicySpecSchema,
  type DecodePoolPolicy,
  type PoolName,
  type PrefillPoolPolicy,
  type ScalingPolicySpec,
  type ScalingPolicySpecInput,
} from './policy.ts';
export { noSignals, type DecodeSignals, type PlannerSignals, type PoolReplicas, type PrefillSignals } from './signals.ts';
export { perReplicaRule, ratioRule, recommendDecode, recommendPrefill, type Recommendation, type RuleResult, type SignalRule } from './recommend.ts';
export { stabilize, type PlanReason, type PlanRule, type RecommendationRecord } from './stabilize.ts';
export { projectToRatio } from './ratio.ts';
export { initialPlannerState, plan, type Plan, type PlanInput, type PlannerState, type PoolDecision } from './planner.ts';
