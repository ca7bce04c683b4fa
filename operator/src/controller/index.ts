/** Public entry of the controller module: the operator process and its building blocks. */
export { Operator, type OperatorDeps, type OperatorOptions } from './operator.ts';
export { Controller, CONTROLLER_DEFAULTS, type ControllerOptions } from './controller.ts';
export { operatorConfigSchema, parseOperatorConfig, type OperatorConfig } from './config.ts';
export { buildOperator, runOperator, serveOperatorHttp } from './run.ts';
export { resolvePoolReplicas, type AutoscaleTarget, type PoolAutoscaler } from './autoscale.ts';
export { NatsPolicyPublisher, type PolicyPublisher } from './publisher.ts';
export { desiredChildren, withConfigHash, type DesiredInput, type OwnerInfo } from './desired.ts';
export { computeStatus, type Problem, type StatusInput } from './status.ts';
export {
  COMPONENTS,
  CONFIG_HASH_ANNOTATION,
  FINALIZER,
  LABELS,
  LAST_APPLIED_ANNOTATION,
  MANAGED_BY,
  PATHS,
  PORTS,
  childName,
  labelsFor,
  selectorLabels,
  subjectPrefixFor,
  type Component,
  type PoolComponent,
} from './names.ts';
export { ENTRY_COMMANDS } from './pod.ts';
