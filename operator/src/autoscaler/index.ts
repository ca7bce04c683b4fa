/**
 * The autoscaler: pushed signals → the pure planner → an actuator that grows pools at once and
 * drains before it removes. `startAutoscaler` runs one loop; `KubePoolAutoscaler` runs one per
 * DuetService for the operator; `LocalProcessActuator` drives `npm start --autoscale`.
 */
export { DrainingActuator, pickVictims, type Actuator, type DrainDeps } from './actuator.ts';
export { SignalCollector, type CollectorOptions } from './collector.ts';
export { drainWorker, type DrainOptions, type DrainOutcome, type DrainResult } from './drain.ts';
export { Fleet, heldWork, type FleetOptions, type WorkerView } from './fleet.ts';
export { DRAINED_POD_DELETION_COST, KubeActuator, POD_DELETION_COST_ANNOTATION, type KubeActuatorOptions } from './kube-actuator.ts';
export { KubePoolAutoscaler, type KubePoolAutoscalerOptions } from './kube-autoscaler.ts';
export { LocalProcessActuator, type WorkerProcesses } from './local-actuator.ts';
export { startAutoscaler, type Autoscaler, type AutoscalerOptions } from './loop.ts';
