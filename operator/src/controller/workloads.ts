/**
 * The four Deployments of a DuetService, as pure functions of the desired input:
 *  - prefill and decode: worker pods (entrypoint role `prefill` / `decode`), sized by the resolved replicas,
 *    each pool with its own image, resources, nodeSelector and tolerations; rolling updates surge
 *    one pod and never take one away first, and the grace period covers a full drain (SIGTERM
 *    makes a worker finish what it holds before it exits);
 *  - router: `--policy` points at the mounted RoutingPolicy file when the spec references one
 *    (the router re-reads it and takes PolicyUpdates from NATS: no restart on a policy change);
 *  - gateway: HTTP on 8080 with /readyz and /healthz probes, API keys from a Secret.
 * Settings shared by every container come from the `<name>-config` ConfigMap (DUET_* env); its hash
 * on the pod template rolls the pods when it changes.
 */
import type { V1Deployment, V1DeploymentStrategy, V1EnvVar, V1PodSpec } from '@kubernetes/client-node';
import type { DuetServiceSpec, PoolSpec } from '../crds/index.ts';
import type { DesiredInput } from './desired.ts';
import { CONFIG_HASH_ANNOTATION, PATHS, PORTS, childName, labelsFor, selectorLabels, type Component, type PoolComponent } from './names.ts';
import { baseMounts, baseVolumes, container, flags, podSecurityContext, resourcesOf } from './pod.ts';

/** Grace period of worker pods when no ScalingPolicy sets a drain timeout. */
export const DEFAULT_WORKER_GRACE_SECONDS = 600;
/** Extra seconds on top of the drain timeout: the worker's own stop after the drain. */
const GRACE_MARGIN_SECONDS = 30;

const podEnv = (name: string, path: string): V1EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath: path } } });

function deployment(input: DesiredInput, component: Component, replicas: number, pod: V1PodSpec, strategy: V1DeploymentStrategy): V1Deployment {
  const { owner } = input;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: childName(owner.name, component), namespace: owner.namespace, labels: labelsFor(owner.name, component) },
    spec: {
      replicas,
      revisionHistoryLimit: 3,
      selector: { matchLabels: selectorLabels(owner.name, component) },
      strategy,
      template: {
        metadata: { labels: labelsFor(owner.name, component), annotations: { [CONFIG_HASH_ANNOTATION]: input.configHash } },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: podSecurityContext,
          ...pod,
        },
      },
    },
  };
}

const imageOf = (spec: DuetServiceSpec, pool?: PoolSpec): string => pool?.image ?? spec.image;

export function poolDeployment(input: DesiredInput, pool: PoolComponent): V1Deployment {
  const { spec } = input;
  const p = spec[pool];
  const grace = input.drainTimeoutSeconds !== undefined ? input.drainTimeoutSeconds + GRACE_MARGIN_SECONDS : DEFAULT_WORKER_GRACE_SECONDS;
  const c = container(pool, {
    image: imageOf(spec, p),
    imagePullPolicy: spec.imagePullPolicy,
    args: flags({ transport: p.transport }),
    envFrom: [{ configMapRef: { name: childName(input.owner.name, 'config') } }],
    env: [podEnv('DUET_WORKER_ID', 'metadata.name'), podEnv('DUET_TCP_HOST', 'status.podIP')],
    ports: [{ name: 'metrics', containerPort: PORTS.metrics }],
    resources: resourcesOf(p.resources),
    volumeMounts: baseMounts(spec, true),
  });
  return deployment(input, pool, input.replicas[pool], {
    containers: [c],
    volumes: baseVolumes(spec, true),
    nodeSelector: p.nodeSelector,
    tolerations: p.tolerations,
    terminationGracePeriodSeconds: grace,
  }, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
}

export function routerDeployment(input: DesiredInput): V1Deployment {
  const { spec, owner } = input;
  const withPolicy = spec.router.policyRef !== undefined;
  const c = container('router', {
    image: spec.image,
    imagePullPolicy: spec.imagePullPolicy,
    args: flags({ policy: withPolicy ? PATHS.routingPolicyFile : undefined }),
    envFrom: [{ configMapRef: { name: childName(owner.name, 'config') } }],
    env: [podEnv('DUET_ROUTER_ID', 'metadata.name')],
    ports: [{ name: 'metrics', containerPort: PORTS.metrics }],
    resources: resourcesOf(spec.router.resources),
    volumeMounts: [...baseMounts(spec, false), ...(withPolicy ? [{ name: 'routing-policy', mountPath: PATHS.routingPolicyDir, readOnly: true }] : [])],
  });
  const volumes = [...baseVolumes(spec, false), ...(withPolicy ? [{ name: 'routing-policy', configMap: { name: childName(owner.name, 'routing-policy') } }] : [])];
  return deployment(input, 'router', spec.router.replicas, { containers: [c], volumes }, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
}

export function gatewayDeployment(input: DesiredInput): V1Deployment {
  const { spec, owner } = input;
  const keys = spec.gateway.apiKeys?.secretRef;
  const probe = (path: string) => ({ httpGet: { path, port: 'http' }, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 3 });
  const c = container('gateway', {
    image: spec.image,
    imagePullPolicy: spec.imagePullPolicy,
    args: flags({ transport: spec.decode.transport }),
    envFrom: [{ configMapRef: { name: childName(owner.name, 'config') } }],
    env: keys ? [{ name: 'DUET_API_KEYS', valueFrom: { secretKeyRef: { name: keys.name, key: keys.key } } }] : [],
    ports: [{ name: 'http', containerPort: PORTS.gatewayHttp }],
    readinessProbe: probe('/readyz'),
    livenessProbe: { ...probe('/healthz'), initialDelaySeconds: 30 },
    resources: resourcesOf(spec.gateway.resources),
    volumeMounts: baseMounts(spec, true),
  });
  return deployment(input, 'gateway', spec.gateway.replicas, { containers: [c], volumes: baseVolumes(spec, true) }, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
}
