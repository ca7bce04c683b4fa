/**
 * Public entry of @duet/router: the placement service, its registry, the RoutingPolicy (schema,
 * built-ins, compile, live reload), the plugin pipeline and its parts (prefix index, accounting,
 * expert state) for the simulator and benchmarks that run the real router code in process.
 */
export { Router, type RouterDeps } from './router.ts';
export { WorkerRegistry, canDecode, isPrefillOnly, type LiveWorker } from './registry.ts';
export { parseRouterConfig, resolveRouterConfig, routerConfigSchema, type RouterConfig, type RouterConfigInput } from './config.ts';
export type { PlacementResponseInit } from './placer.ts';
export {
  ROUTING_POLICY_API_VERSION,
  ROUTING_POLICY_KIND,
  routingPolicySchema,
  routingPolicySpecSchema,
  type RoutingPolicyDocument,
  type RoutingPolicySpec,
  type RoutingPolicySpecInput,
} from './policy/schema.ts';
export { compilePolicy, PolicyError, type CompiledPolicy, type CompiledStage } from './policy/compile.ts';
export { BUILTIN_POLICIES, DEFAULT_POLICY, builtinPolicyPath, loadPolicy, parsePolicyText, resolvePolicyPath, type BuiltinPolicy } from './policy/load.ts';
export { LivePolicy, type PolicyChange } from './policy/live.ts';
export { decide, describeDecision, type Decision, type PlannedReservation } from './pipeline/decide.ts';
export { PLUGINS } from './plugins/registry.ts';
export type { Candidate, DecisionContext, ExpertVector, RoutingState, WorkerLoadView } from './plugins/types.ts';
export { FleetState } from './fleet.ts';
export { PolicyPlacer, type PlacementOutcome } from './placement.ts';
export { RequestEventHandler } from './request-events.ts';
export { PrefixIndex, KvEventSync } from './index/index.ts';
export { InMemoryAccounting, RedisAccounting, createAccounting, type LoadAccounting, type Reservation, type WorkerLoad, type AccountingView } from './accounting/index.ts';
export { ExpertLoadTracker, PrefixProfiles, histogramToVector } from './experts/index.ts';
