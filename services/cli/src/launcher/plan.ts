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
}

const entry = (pkg: string): string => fileURLToPath(new URL(`../../../${pkg}/src/main.ts`, import.meta.url));

export function workerIds(o: LaunchOptions): string[] {
  return [...Array.from({ length: o.prefill }, (_, i) => `prefill-${i}`), ...Array.from({ length: o.decode }, (_, i) => `decode-${i}`)];
}

export function launchPlan(o: LaunchOptions): ChildSpec[] {
  const common = { DUET_NATS_URL: o.natsUrl, ...(o.redisUrl ? { DUET_REDIS_URL: o.redisUrl } : {}) };
  const worker = (id: string): ChildSpec => ({
    name: id,
    script: entry('worker'),
    args: [
      '--role', id.startsWith('prefill') ? 'prefill' : o.prefill === 0 ? 'both' : 'decode',
      '--worker-id', id,
      '--model-dir', o.modelDir,
      '--backend', o.backend,
      '--kv-cache-mib', String(o.kvCacheMib),
      '--transport', o.transport,
    ],
    env: common,
  });
  return [
    { name: 'router', script: entry('router'), args: [], env: common },
    ...workerIds(o).map(worker),
    {
      name: 'gateway',
      script: entry('gateway'),
      args: ['--port', String(o.port), '--host', o.host, '--models', o.modelDir, '--transport', o.transport],
      env: common,
    },
  ];
}
