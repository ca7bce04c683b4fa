/**
 * The pure pieces of a reconcile: three-way merge patches and drift detection (merge.ts), and the
 * status with its three conditions (status.ts), with the expected results written out.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isSubset, threeWayMergePatch } from '../src/controller/merge.ts';
import { computeStatus, type StatusInput } from '../src/controller/status.ts';
import type { DeploymentView } from '../src/controller/types.ts';

describe('threeWayMergePatch', () => {
  test('sets every desired field and nulls what was applied before but is no longer wanted', () => {
    const last = { a: 1, b: { x: 1, y: 2 }, list: [1, 2], gone: 'x' };
    const desired = { a: 2, b: { x: 1 }, list: [3] };
    assert.deepEqual(threeWayMergePatch(last, desired), { a: 2, b: { x: 1, y: null }, list: [3], gone: null });
  });
  test('without a last-applied base it is the desired object itself', () => {
    assert.deepEqual(threeWayMergePatch(undefined, { a: { b: 1 } }), { a: { b: 1 } });
  });
});

describe('isSubset (has someone edited a field the operator owns?)', () => {
  test('extra live fields are fine; a changed owned field is not', () => {
    assert.equal(isSubset({ spec: { replicas: 2 } }, { spec: { replicas: 2, paused: false }, status: {} }), true);
    assert.equal(isSubset({ spec: { replicas: 2 } }, { spec: { replicas: 5 } }), false);
  });
  test('empty desired maps and lists match absent ones (the API server omits them); scalars compare as text', () => {
    assert.equal(isSubset({ nodeSelector: {}, tolerations: [], env: [] }, {}), true);
    assert.equal(isSubset({ port: 80, maxUnavailable: 1 }, { port: '80', maxUnavailable: 1 }), true);
    assert.equal(isSubset({ containers: [{ name: 'a' }] }, { containers: [{ name: 'a' }, { name: 'b' }] }), false, 'list length differs');
    assert.equal(isSubset({ containers: [{ name: 'a', image: 'i' }] }, { containers: [{ name: 'a', image: 'i', terminationMessagePath: '/dev/x' }] }), true);
  });
});

const dep = (replicas: number, ready: number, opts: { generation?: number; observed?: number; updated?: number; total?: number; stalled?: boolean } = {}): DeploymentView => ({
  metadata: { generation: opts.generation ?? 1 },
  spec: { replicas },
  status: {
    observedGeneration: opts.observed ?? opts.generation ?? 1,
    replicas: opts.total ?? replicas,
    updatedReplicas: opts.updated ?? replicas,
    readyReplicas: ready,
    conditions: opts.stalled ? [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] : [],
  },
});
const base = (deployments: StatusInput['deployments'], extra: Partial<StatusInput> = {}): StatusInput => ({ generation: 3, deployments, problems: [], now: '2025-01-01T00:00:00Z', ...extra });
const all = (d: DeploymentView) => ({ prefill: d, decode: d, router: d, gateway: d });
const summary = (s: ReturnType<typeof computeStatus>) => s.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}`);

describe('computeStatus', () => {
  test('every component ready and rolled out → Ready, not Progressing, not Degraded', () => {
    const s = computeStatus(base(all(dep(2, 2)), { endpoint: 'http://x' }));
    assert.deepEqual(summary(s), ['Ready=True/AllComponentsReady', 'Progressing=False/RolloutComplete', 'Degraded=False/AsExpected']);
    assert.deepEqual([s.observedGeneration, s.decode, s.endpoint], [3, { desiredReplicas: 2, readyReplicas: 2 }, 'http://x']);
    assert.ok(s.conditions?.every((c) => c.observedGeneration === 3));
  });

  test('a rollout in flight: the Deployment controller has not observed the new generation, or old pods remain', () => {
    const notObserved = computeStatus(base({ ...all(dep(2, 2)), decode: dep(2, 2, { generation: 2, observed: 1 }) }));
    assert.deepEqual(summary(notObserved), ['Ready=True/AllComponentsReady', 'Progressing=True/RollingOut', 'Degraded=False/AsExpected']);
    const surge = computeStatus(base({ ...all(dep(2, 2)), decode: dep(2, 2, { updated: 1, total: 3 }) }));
    assert.equal(surge.conditions?.[1].message, 'rolling out: decode');
  });

  test('not enough ready replicas → not Ready, naming the component', () => {
    const s = computeStatus(base({ ...all(dep(1, 1)), decode: dep(3, 1) }));
    assert.deepEqual(summary(s), ['Ready=False/ComponentsNotReady', 'Progressing=True/RollingOut', 'Degraded=False/AsExpected']);
    assert.equal(s.conditions?.[0].message, 'decode 1/3 ready');
  });

  test('a rollout past its progress deadline, or a problem, degrades; the first problem names the reason', () => {
    const stalled = computeStatus(base({ ...all(dep(1, 1)), gateway: dep(1, 0, { stalled: true }) }));
    assert.deepEqual(summary(stalled), ['Ready=False/RolloutStalled', 'Progressing=True/RollingOut', 'Degraded=True/RolloutStalled']);
    const problems = computeStatus(base(all(dep(1, 1)), { problems: [{ reason: 'RoutingPolicyNotFound', message: 'a' }, { reason: 'ApplyFailed', message: 'b' }] }));
    assert.deepEqual(summary(problems), ['Ready=False/RoutingPolicyNotFound', 'Progressing=False/RolloutComplete', 'Degraded=True/RoutingPolicyNotFound']);
    assert.equal(problems.conditions?.[2].message, 'a; b');
  });

  test('lastTransitionTime moves only when a condition changes status', () => {
    const first = computeStatus(base(all(dep(1, 1)), { now: '2025-01-01T00:00:00Z' }));
    const same = computeStatus(base(all(dep(1, 1)), { now: '2025-01-01T01:00:00Z', previous: first }));
    assert.deepEqual(same.conditions?.map((c) => c.lastTransitionTime), ['2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z']);
    const changed = computeStatus(base({ ...all(dep(1, 1)), decode: dep(2, 1) }, { now: '2025-01-01T02:00:00Z', previous: same }));
    assert.deepEqual(changed.conditions?.map((c) => c.lastTransitionTime), ['2025-01-01T02:00:00Z', '2025-01-01T02:00:00Z', '2025-01-01T00:00:00Z']);
  });

  test('an invalid spec: nothing is progressing, everything says why', () => {
    const s = computeStatus(base({}, { invalidSpec: { reason: 'InvalidSpec', message: 'spec.decode.replicas: too big' } }));
    assert.deepEqual(summary(s), ['Ready=False/InvalidSpec', 'Progressing=False/InvalidSpec', 'Degraded=True/InvalidSpec']);
    assert.equal(s.conditions?.[2].message, 'spec.decode.replicas: too big');
  });
});
