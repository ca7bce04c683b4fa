/** Public entry of @duet/router: the placement service, its registry and the Placer contract. */
export { Router, type RouterDeps } from './router.ts';
export { RoundRobinPlacer, eligible, type Placer, type PlacementResponseInit } from './placer.ts';
export { WorkerRegistry, canDecode, isPrefillOnly, type LiveWorker } from './registry.ts';
export { parseRouterConfig, resolveRouterConfig, routerConfigSchema, type RouterConfig, type RouterConfigInput } from './config.ts';
export {
  ROUTING_POLICY_API_VERSION,
  ROUTING_POLICY_KIND,
  routingPolicySchema,
  routingPolicySpecSchema,
  type RoutingPolicyDocument,
  type RoutingPolicySpec,
  type RoutingPolicySpecInput,
} from './policy/schema.ts';
