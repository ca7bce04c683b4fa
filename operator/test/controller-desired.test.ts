/**
 * The desired state as a pure function: what each child looks like for each model source, that
 * every object is a valid Kubernetes object (kubernetes-models), that the config hash follows the
 * shared settings only, and that names, roles and env agree with the image entrypoint and the chart.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Deployment } from 'kubernetes-models/apps/v1';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { V1ConfigMap, V1Deployment } from '@kubernetes/client-node';
import { duetServiceSpecSchema } from '../src/crds/index.ts';
import { desiredChildren, withConfigHash, type DesiredInput } from '../src/controller/desired.ts';
import { ENTRY_COMMANDS } from '../src/controller/pod.ts';
import { subjectPrefixFor } from '../src/controller/names.ts';
import { operatorConfigSchema } from '../src/controller/config.ts';
import { baseSpec } from './controller-fixtures.ts';

const owner = { apiVersion: 'duet.dev/v1alpha1', kind: 'DuetService', name: 'llama', namespace: 'duet', uid: 'u-1' };

function input(specOverrides: Record<string, unknown> = {}, extra: Partial<DesiredInput> = {}): DesiredInput {
  const spec = duetServiceSpecSchema.parse({ ...baseSpec(), ...specOverrides });
  return withConfigHash({ owner, spec, subjectPrefix: subjectPrefixFor('duet', 'llama'), replicas: { prefill: 1, decode: 2 }, ...extra });
}
const find = <T>(children: unknown[], kind: string, name: string): T => children.find((c) => (c as { kind: string }).kind === kind && (c as { metadata: { name: string } }).metadata.name === name) as T;
const container = (d: V1Deployment) => d.spec!.template.spec!.containers[0];

describe('desired children', () => {
  test('eleven children in apply order, each owned by the DuetService and a valid Kubernetes object', () => {
    const children = desiredChildren(input());
    assert.deepEqual(
      children.map((c) => `${c.kind}/${c.metadata?.name}`),
      [
        'ConfigMap/llama-config',
        'Deployment/llama-prefill',
        'Deployment/llama-decode',
        'Deployment/llama-router',
        'Deployment/llama-gateway',
        'Service/llama-gateway',
        'Service/llama-metrics',
        'PodDisruptionBudget/llama-prefill',
        'PodDisruptionBudget/llama-decode',
        'PodDisruptionBudget/llama-router',
        'PodDisruptionBudget/llama-gateway',
      ],
    );
    const models: Record<string, new (doc: never) => { validate(): void }> = { Deployment, Service, ConfigMap, PodDisruptionBudget };
    for (const c of children) {
      assert.deepEqual(c.metadata?.ownerReferences, [{ apiVersion: 'duet.dev/v1alpha1', kind: 'DuetService', name: 'llama', uid: 'u-1', controller: true, blockOwnerDeletion: true }]);
      new models[c.kind!](JSON.parse(JSON.stringify(c)) as never).validate();
    }
  });

  test('workers: role, transport, pod name as worker id, pod IP as TCP host, restricted security, drain grace', () => {
    const children = desiredChildren(input({ decode: { replicas: 2, minReplicas: 1, maxReplicas: 8, transport: 'tcp', image: 'gpu:1', nodeSelector: { gpu: 'yes' } } }, { drainTimeoutSeconds: 90 }));
    const decode = find<V1Deployment>(children, 'Deployment', 'llama-decode');
    const c = container(decode);
    assert.deepEqual([c.image, c.args], ['gpu:1', ['decode', '--transport', 'tcp']]);
    assert.deepEqual(c.env, [
      { name: 'DUET_WORKER_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'DUET_TCP_HOST', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    ]);
    assert.deepEqual(c.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
    assert.deepEqual(decode.spec?.template.spec?.nodeSelector, { gpu: 'yes' });
    assert.equal(decode.spec?.template.spec?.terminationGracePeriodSeconds, 120);
    assert.deepEqual(decode.spec?.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    assert.equal(container(find<V1Deployment>(children, 'Deployment', 'llama-prefill')).image, 'registry.example/duet:test-cpu', 'prefill keeps spec.image');
  });

  test('model sources: a PVC (read-only, subPath), a host path, or a path inside the image', () => {
    const mountOf = (spec: Record<string, unknown>) => {
      const children = desiredChildren(input(spec));
      const d = find<V1Deployment>(children, 'Deployment', 'llama-decode');
      const cm = find<V1ConfigMap>(children, 'ConfigMap', 'llama-config');
      return { vol: d.spec?.template.spec?.volumes?.find((v) => v.name === 'model'), mount: container(d).volumeMounts?.find((m) => m.name === 'model'), dir: cm.data?.DUET_MODEL_DIR, models: cm.data?.DUET_MODELS };
    };
    assert.deepEqual(mountOf({}), {
      vol: { name: 'model', persistentVolumeClaim: { claimName: 'models', readOnly: true } },
      mount: { name: 'model', mountPath: '/models', readOnly: true, subPath: 'tiny' },
      dir: '/models',
      models: 'tiny=/models',
    });
    const host = mountOf({ model: { name: 'tiny', source: { hostPath: { path: '/data/tiny' } } } });
    assert.deepEqual([host.vol, host.dir], [{ name: 'model', hostPath: { path: '/data/tiny', type: 'Directory' } }, '/models']);
    const image = mountOf({ model: { name: 'tiny', source: { image: { path: '/app/models/demo' } } } });
    assert.deepEqual([image.vol, image.mount, image.dir, image.models], [undefined, undefined, '/app/models/demo', 'tiny=/app/models/demo']);
  });

  test('engine threads reach every worker through the shared config: 0 is auto', () => {
    const threadsOf = (engine: Record<string, unknown>): string | undefined =>
      find<V1ConfigMap>(desiredChildren(input({ model: { name: 'tiny', source: { pvc: { claimName: 'models' } }, engine } })), 'ConfigMap', 'llama-config').data?.DUET_THREADS;
    assert.equal(threadsOf({}), 'auto');
    assert.equal(threadsOf({ threads: 0 }), 'auto');
    assert.equal(threadsOf({ threads: 2 }), '2');
    assert.throws(() => threadsOf({ threads: -1 }));
  });

  test('router and gateway: policy file only with a policyRef; gateway probes, port and API keys from a Secret', () => {
    const plain = desiredChildren(input());
    assert.deepEqual(container(find<V1Deployment>(plain, 'Deployment', 'llama-router')).args, ['router']);
    const withKeys = desiredChildren(input({ gateway: { replicas: 2, apiKeys: { secretRef: { name: 'keys' } } } }));
    const gw = find<V1Deployment>(withKeys, 'Deployment', 'llama-gateway');
    const c = container(gw);
    assert.deepEqual(c.env, [{ name: 'DUET_API_KEYS', valueFrom: { secretKeyRef: { name: 'keys', key: 'apiKeys' } } }]);
    assert.deepEqual([c.readinessProbe?.httpGet?.path, c.livenessProbe?.httpGet?.path, c.ports], ['/readyz', '/healthz', [{ name: 'http', containerPort: 8080 }]]);
    assert.equal(gw.spec?.replicas, 2);
  });

  test('the config hash follows the shared settings, not the pool sizes', () => {
    const a = input();
    assert.equal(input({}, { replicas: { prefill: 3, decode: 5 } }).configHash, a.configHash);
    assert.notEqual(input({ nats: { url: 'nats://elsewhere:4222' } }).configHash, a.configHash);
    assert.notEqual(input({ model: { name: 'tiny', source: { pvc: { claimName: 'models' } }, engine: { blockSize: 32 } } }).configHash, a.configHash);
  });

  test('subject prefixes isolate services: namespace and name, dots made safe', () => {
    assert.equal(subjectPrefixFor('duet', 'llama'), 'duet.duet.llama');
    assert.equal(subjectPrefixFor('team-a', 'my.model'), 'duet.team-a.my_model');
  });
});

describe('agreement with the image and the chart', () => {
  test('every container role is one the image entrypoint knows', () => {
    const script = readFileSync(new URL('../../infra/docker-entrypoint.sh', import.meta.url), 'utf8');
    const roles = /^ROLES="([^"]+)"/m.exec(script)?.[1].split(' ') ?? [];
    for (const role of Object.values(ENTRY_COMMANDS)) assert.ok(roles.includes(role), `entrypoint role ${role}`);
    assert.ok(roles.includes('operator'));
    assert.match(script, /operator\) run node --import tsx operator\/src\/main\.ts/);
  });

  test('every DUET_* variable the chart gives the operator is one of its options', () => {
    const tpl = readFileSync(new URL('../../charts/duet/templates/operator-deployment.yaml', import.meta.url), 'utf8');
    const envNames = [...tpl.matchAll(/- name: (DUET_[A-Z_]+)/g)].map((m) => m[1]).filter((n) => n !== 'DUET_LOG_LEVEL');
    const known = new Set(Object.keys(operatorConfigSchema.shape).map((k) => `DUET_${k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`));
    assert.ok(envNames.length >= 4);
    for (const n of envNames) assert.ok(known.has(n), `${n} is not an operator option`);
  });
});
