/**
 * What `npm start` runs: one router, N prefill and M decode workers, one gateway, each a separate
 * process, all on one NATS server. Pure: turns launcher options into child specs.
 */
import { fileURLToPath } from 'node:url';
import type { ChildSpec } from './children.ts';

export interface LaunchOptions {
  natsUrl: string;
  redisUrl: string | null;
  modelDir: string;
  port: number;
  host: string;
  prefill: number;
  decode: number;
  transport: 'nats' | 'tcp';
  backend: 'wasm' | 'cpu' | 'tensorflow';
  kvCacheMib: number;
  /** Engine threads of each worker (`--threads`); default the worker's own (`auto`). */
  threads?: number | 'auto';
  /** RoutingPolicy for the router: a built-in name or a YAML/JSON file (default: the router's default). */
  policy?: string;
}

const entry = (pkg: string): string => fileURLToPath(new URL(`../../../${pkg}/src/main.ts`, import.meta.url));

export function workerIds(o: LaunchOptions): string[] {
  return [...Array.from({ length: o.prefill }, (_, i) => `prefill-${i}`), ...Array.from({ length: o.decode }, (_, i) => `decode-${i}`)];
}

const commonEnv = (o: LaunchOptions): NodeJS.ProcessEnv => ({ DUET_NATS_URL: o.natsUrl, ...(o.redisUrl ? { DUET_REDIS_URL: o.redisUrl } : {}) });

/** One worker process; `prefill-*` ids are prefill workers, the rest decode (`both` without a prefill pool). */
export function workerSpec(o: LaunchOptions, id: string): ChildSpec {
  return {
    name: id,
    script: entry('worker'),
    args: [
      '--role', id.startsWith('prefill') ? 'prefill' : o.prefill === 0 ? 'both' : 'decode',
      '--worker-id', id,
      '--model-dir', o.modelDir,
      '--backend', o.backend,
      '--kv-cache-mib', String(o.kvCacheMib),
      '--transport', o.transport,
      ...(o.threads !== undefined ? ['--threads', String(o.threads)] : []),
    ],
    env: commonEnv(o),
  };
}

export function launchPlan(o: LaunchOptions): ChildSpec[] {
  const common = commonEnv(o);
  const worker = (id: string): ChildSpec => workerSpec(o, id);
  return [
    { name: 'router', script: entry('router'), args: o.policy ? ['--policy', o.policy] : [], env: common },
    ...workerIds(o).map(worker),
    {
      name: 'gateway',
      script: entry('gateway'),
      args: ['--port', String(o.port), '--host', o.host, '--models', o.modelDir, '--transport', o.transport],
      env: common,
    },
  ];
}
