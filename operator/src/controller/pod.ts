/**
 * Pod-template pieces shared by every Duet container: the restricted security context (non-root,
 * read-only root filesystem, no privilege escalation, every capability dropped, RuntimeDefault
 * seccomp), the model volume for each model source, the writable /tmp, and the container command.
 *
 * One image serves every role: its entrypoint (infra/docker-entrypoint.sh) takes the role as the
 * first argument — `prefill` / `decode` (the worker with that --role), `router`, `gateway` — and
 * passes the rest to that service's main.
 */
import type { V1Container, V1PodSecurityContext, V1ResourceRequirements, V1SecurityContext, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { DuetServiceSpec, ResourceRequirements } from '../crds/index.ts';
import { PATHS, type Component } from './names.ts';

/** First container argument per component: the image entrypoint's role. */
export const ENTRY_COMMANDS: Record<Component, string> = { prefill: 'prefill', decode: 'decode', router: 'router', gateway: 'gateway' };

export const podSecurityContext: V1PodSecurityContext = { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } };

export const containerSecurityContext: V1SecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
};

const MODEL_VOLUME = 'model';
const TMP_VOLUME = 'tmp';

/** The model folder inside the container: the mount point, or the path baked into the image. */
export function modelDirOf(spec: DuetServiceSpec): string {
  return spec.model.source.image ? spec.model.source.image.path : PATHS.modelDir;
}

/** Volumes every Duet pod has (tmp) plus the model volume where the source needs one. */
export function baseVolumes(spec: DuetServiceSpec, withModel: boolean): V1Volume[] {
  const vols: V1Volume[] = [{ name: TMP_VOLUME, emptyDir: {} }];
  const src = spec.model.source;
  if (!withModel) return vols;
  if (src.pvc) vols.push({ name: MODEL_VOLUME, persistentVolumeClaim: { claimName: src.pvc.claimName, readOnly: true } });
  else if (src.hostPath) vols.push({ name: MODEL_VOLUME, hostPath: { path: src.hostPath.path, type: 'Directory' } });
  return vols;
}

export function baseMounts(spec: DuetServiceSpec, withModel: boolean): V1VolumeMount[] {
  const mounts: V1VolumeMount[] = [{ name: TMP_VOLUME, mountPath: PATHS.tmp }];
  const src = spec.model.source;
  if (withModel && (src.pvc || src.hostPath)) {
    mounts.push({ name: MODEL_VOLUME, mountPath: PATHS.modelDir, readOnly: true, ...(src.pvc?.subPath ? { subPath: src.pvc.subPath } : {}) });
  }
  return mounts;
}

/** CRD quantities may be integers (`cpu: 2`); the Kubernetes API takes strings. */
export function resourcesOf(r: ResourceRequirements): V1ResourceRequirements {
  const strings = (l: Record<string, string | number> | undefined) => (l ? Object.fromEntries(Object.entries(l).map(([k, v]) => [k, String(v)])) : undefined);
  const out: V1ResourceRequirements = {};
  if (r.requests) out.requests = strings(r.requests);
  if (r.limits) out.limits = strings(r.limits);
  return out;
}

/** `--flag value` pairs from a record, in the record's order; undefined values are left out. */
export function flags(values: Record<string, string | number | undefined>): string[] {
  return Object.entries(values).flatMap(([k, v]) => (v === undefined ? [] : [`--${k}`, String(v)]));
}

export function container(component: Component, parts: Omit<V1Container, 'name' | 'args' | 'securityContext'> & { args: string[] }): V1Container {
  return { name: component, ...parts, args: [ENTRY_COMMANDS[component], ...parts.args], securityContext: containerSecurityContext };
}
