/**
 * A DuetService's status as a pure function of what the reconcile saw: per-component desired and
 * ready replicas from the live Deployments, and three conditions —
 *
 *   Ready        True: every component has all its replicas ready and nothing is wrong.
 *   Progressing  True: some Deployment has not finished rolling out its current spec.
 *   Degraded     True: the spec is invalid, a referenced policy is missing or invalid, a child
 *                could not be applied, or a rollout exceeded its progress deadline.
 *
 * A condition keeps its lastTransitionTime while its status stays the same, so the timestamps say
 * when things changed, not when the operator last looked.
 */
import type { Condition, ConditionType, DuetServiceStatus, PoolStatus } from '../crds/index.ts';
import { COMPONENTS, type Component } from './names.ts';
import type { DeploymentView } from './types.ts';

export interface Problem {
  /** CamelCase reason (the Degraded condition's reason when it is the first problem). */
  reason: string;
  message: string;
}

export interface StatusInput {
  generation: number;
  /** Live Deployments by component (absent when the spec was invalid and nothing was applied). */
  deployments: Partial<Record<Component, DeploymentView>>;
  problems: Problem[];
  /** Set when the spec failed validation: nothing was applied. */
  invalidSpec?: Problem;
  endpoint?: string;
  /** RFC 3339 now. */
  now: string;
  previous?: DuetServiceStatus;
}

interface ComponentState {
  component: Component;
  desired: number;
  ready: number;
  rolledOut: boolean;
  stalled: boolean;
}

function stateOf(component: Component, d: DeploymentView): ComponentState {
  const desired = d.spec?.replicas ?? 0;
  const s = d.status ?? {};
  const ready = s.readyReplicas ?? 0;
  const observed = (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
  const rolledOut = observed && (s.updatedReplicas ?? 0) >= desired && ready >= desired && (s.replicas ?? 0) <= desired;
  const stalled = (s.conditions ?? []).some((c) => c.type === 'Progressing' && c.status === 'False' && c.reason === 'ProgressDeadlineExceeded');
  return { component, desired, ready, rolledOut, stalled };
}

function condition(type: ConditionType, status: boolean, reason: string, message: string, input: StatusInput): Condition {
  const prev = input.previous?.conditions?.find((c) => c.type === type);
  const s = status ? 'True' : 'False';
  const lastTransitionTime = prev && prev.status === s ? prev.lastTransitionTime : input.now;
  return { type, status: s, reason, message, lastTransitionTime, observedGeneration: input.generation };
}

const describe = (states: ComponentState[]): string => states.map((s) => `${s.component} ${s.ready}/${s.desired} ready`).join(', ');

export function computeStatus(input: StatusInput): DuetServiceStatus {
  const states = COMPONENTS.flatMap((c) => (input.deployments[c] ? [stateOf(c, input.deployments[c])] : []));
  const pools: Partial<Record<Component, PoolStatus>> = {};
  for (const s of states) pools[s.component] = { desiredReplicas: s.desired, readyReplicas: s.ready };

  const stalled = states.filter((s) => s.stalled).map((s): Problem => ({ reason: 'RolloutStalled', message: `${s.component} rollout exceeded its progress deadline` }));
  const problems = [...(input.invalidSpec ? [input.invalidSpec] : []), ...input.problems, ...stalled];
  const notReady = states.filter((s) => s.ready < s.desired);
  const missing = COMPONENTS.filter((c) => !input.deployments[c]);
  const rolling = states.filter((s) => !s.rolledOut);

  const ready =
    problems.length > 0
      ? condition('Ready', false, problems[0].reason, problems[0].message, input)
      : notReady.length > 0 || missing.length > 0
        ? condition('Ready', false, 'ComponentsNotReady', describe(notReady) || `missing: ${missing.join(', ')}`, input)
        : condition('Ready', true, 'AllComponentsReady', describe(states), input);
  const progressing = input.invalidSpec
    ? condition('Progressing', false, input.invalidSpec.reason, 'nothing applied until the spec is fixed', input)
    : rolling.length > 0
      ? condition('Progressing', true, 'RollingOut', `rolling out: ${rolling.map((s) => s.component).join(', ')}`, input)
      : condition('Progressing', false, 'RolloutComplete', 'every component runs the current spec', input);
  const degraded =
    problems.length > 0
      ? condition('Degraded', true, problems[0].reason, problems.map((p) => p.message).join('; '), input)
      : condition('Degraded', false, 'AsExpected', '', input);

  return {
    observedGeneration: input.generation,
    ...pools,
    ...(input.endpoint ? { endpoint: input.endpoint } : {}),
    conditions: [ready, progressing, degraded],
  };
}

export const conditionOf = (status: DuetServiceStatus | undefined, type: ConditionType): Condition | undefined => status?.conditions?.find((c) => c.type === type);
