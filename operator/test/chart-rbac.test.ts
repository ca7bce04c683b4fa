/**
 * The operator's RBAC is least privilege: exactly the verbs on exactly the resources it touches
 * (its CRDs and their status, Deployments and their scale, Services, ConfigMaps, Pods for drain,
 * PodDisruptionBudgets, Events, the leader-election Lease), no wildcards, no Secrets; namespaced by
 * default, cluster-wide only when asked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byKind, firstContainer, one, renderChart, type K8sObject } from './chart-render.ts';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

const CRUD = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];

/** group/resource → verbs, the whole grant. */
const EXPECTED: Record<string, string[]> = {
  'duet.dev/duetservices': ['get', 'list', 'watch', 'update', 'patch'],
  'duet.dev/routingpolicies': ['get', 'list', 'watch', 'update', 'patch'],
  'duet.dev/scalingpolicies': ['get', 'list', 'watch', 'update', 'patch'],
  'duet.dev/duetservices/status': ['get', 'update', 'patch'],
  'duet.dev/routingpolicies/status': ['get', 'update', 'patch'],
  'duet.dev/scalingpolicies/status': ['get', 'update', 'patch'],
  'duet.dev/duetservices/finalizers': ['update'],
  'apps/deployments': CRUD,
  'apps/deployments/scale': ['get', 'update', 'patch'],
  'core/services': CRUD,
  'core/configmaps': CRUD,
  'core/pods': ['get', 'list', 'watch', 'patch', 'delete'],
  'policy/poddisruptionbudgets': CRUD,
  'core/events': ['create', 'patch'],
  'events.k8s.io/events': ['create', 'patch'],
};

function grants(role: K8sObject): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const r of role.rules as Rule[]) {
    for (const g of r.apiGroups) for (const res of r.resources) out[`${g || 'core'}/${res}`] = [...(out[`${g || 'core'}/${res}`] ?? []), ...r.verbs];
  }
  return out;
}

test('namespace scope: a Role in the release namespace with exactly the expected grants', () => {
  const objs = renderChart({});
  assert.equal(byKind(objs, 'ClusterRole').length, 0);
  assert.equal(byKind(objs, 'ClusterRoleBinding').length, 0);
  const role = one(objs, 'Role', 'duet-operator');
  assert.equal(role.metadata.namespace, 'duet');
  assert.deepEqual(grants(role), EXPECTED);
  const binding = one(objs, 'RoleBinding', 'duet-operator') as K8sObject & { subjects: { name: string; namespace: string }[]; roleRef: { kind: string; name: string } };
  assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'duet-operator' });
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'duet-operator', namespace: 'duet' }]);
  const env = firstContainer(objs, 'duet-operator').env;
  assert.equal(env.find((e) => e.name === 'DUET_WATCH_NAMESPACE')?.value, 'duet');
});

test('cluster scope: the same grants in a ClusterRole; the Lease stays namespaced', () => {
  const objs = renderChart({ operator: { rbac: { scope: 'cluster' } } });
  assert.deepEqual(grants(one(objs, 'ClusterRole', 'duet-operator')), EXPECTED);
  one(objs, 'ClusterRoleBinding', 'duet-operator');
  assert.deepEqual(byKind(objs, 'Role').map((r) => r.metadata.name), ['duet-operator-leader-election']);
});

test('leader election: Lease verbs only, in the release namespace, and the operator is told which Lease', () => {
  const objs = renderChart({});
  const lease = one(objs, 'Role', 'duet-operator-leader-election');
  assert.deepEqual(grants(lease), { 'coordination.k8s.io/leases': ['get', 'list', 'watch', 'create', 'update', 'patch'] });
  const env = firstContainer(objs, 'duet-operator').env;
  assert.equal(env.find((e) => e.name === 'DUET_LEASE_NAMESPACE')?.value, 'duet');
  assert.equal(env.find((e) => e.name === 'DUET_LEASE_NAME')?.value, 'duet-operator');
});

test('no wildcard, no Secrets, no escalation verbs anywhere', () => {
  for (const values of [{}, { operator: { rbac: { scope: 'cluster' } } }]) {
    for (const role of [...byKind(renderChart(values), 'Role'), ...byKind(renderChart(values), 'ClusterRole')]) {
      for (const r of role.rules as Rule[]) {
        for (const field of [r.apiGroups, r.resources, r.verbs]) assert.ok(!field.includes('*'), `${role.metadata.name}: wildcard in ${JSON.stringify(r)}`);
        assert.ok(!r.resources.includes('secrets'), `${role.metadata.name}: secrets`);
        for (const v of ['escalate', 'bind', 'impersonate']) assert.ok(!r.verbs.includes(v), `${role.metadata.name}: ${v}`);
      }
    }
  }
});
