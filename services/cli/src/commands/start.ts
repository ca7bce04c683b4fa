/**
 * `duet start` (what `npm start` runs): the whole platform on this machine — nats-server (and
 * redis-server with --redis) from PATH on free ports unless NATS_URL / REDIS_URL are given, the
 * router, N prefill + M decode workers and the gateway, each its own process. Once every worker
 * heartbeats and the gateway is ready it prints the URL, the model folder and an example curl.
 * SIGINT / SIGTERM stop every process it started; a child that dies takes the platform down with
 * the tail of its log. With --autoscale the operator's planner sizes the worker pools from the
 * signals the workers and the gateway push, and drains a worker before removing it (autoscale.ts).
 */
import { basename, resolve } from 'node:path';
import { BACKEND_NAMES } from '@duet/engine';
import { CliUsageError, oneOf, optionalNumber, parseFlags } from '../args.ts';
import { cacheDir, ensureDemoModel } from './demo.ts';
import type { LaunchOptions } from '../launcher/plan.ts';
import { logTail } from '../launcher/children.ts';
import { launchPlatform, runLogDir, type Platform } from '../launcher/platform.ts';

function parse(argv: string[]): Omit<LaunchOptions, 'natsUrl' | 'redisUrl' | 'modelDir'> & { model?: string; redis: boolean; readyTimeoutMs: number; autoscale: boolean; scalingPolicy?: string } {
  const v = parseFlags(argv, {
    port: { type: 'string' }, host: { type: 'string' }, model: { type: 'string' }, prefill: { type: 'string' }, decode: { type: 'string' },
    transport: { type: 'string' }, backend: { type: 'string' }, 'kv-cache-mib': { type: 'string' }, redis: { type: 'boolean' }, 'ready-timeout-s': { type: 'string' },
    policy: { type: 'string' }, threads: { type: 'string' },
    autoscale: { type: 'boolean' }, 'scaling-policy': { type: 'string' },
  });
  if (v['scaling-policy'] !== undefined && v.autoscale !== true) throw new CliUsageError('--scaling-policy needs --autoscale');
  const prefill = optionalNumber(v, 'prefill', { integer: true }) ?? 1;
  const decode = optionalNumber(v, 'decode', { integer: true }) ?? 1;
  if (prefill < 0 || decode < 1) throw new CliUsageError('--prefill must be ≥ 0 and --decode ≥ 1');
  return {
    port: optionalNumber(v, 'port', { integer: true }) ?? 8080,
    host: typeof v.host === 'string' ? v.host : '127.0.0.1',
    model: typeof v.model === 'string' ? resolve(v.model) : undefined,
    prefill,
    decode,
    transport: oneOf(v, 'transport', ['nats', 'tcp'] as const, 'nats'),
    backend: oneOf(v, 'backend', BACKEND_NAMES, 'wasm'),
    kvCacheMib: optionalNumber(v, 'kv-cache-mib') ?? 128,
    ...threadsFlag(v.threads),
    redis: v.redis === true,
    ...(typeof v.policy === 'string' ? { policy: /[/.]/.test(v.policy) ? resolve(v.policy) : v.policy } : {}),
    readyTimeoutMs: (optionalNumber(v, 'ready-timeout-s') ?? 180) * 1000,
    autoscale: v.autoscale === true,
    ...(typeof v['scaling-policy'] === 'string' ? { scalingPolicy: resolve(v['scaling-policy']) } : {}),
  };
}

/** `--threads auto|N`: each worker's engine threads. */
function threadsFlag(raw: unknown): { threads?: number | 'auto' } {
  if (raw === undefined) return {};
  if (raw === 'auto') return { threads: 'auto' };
  if (typeof raw !== 'string' || !/^[1-9]\d*$/.test(raw)) throw new CliUsageError(`--threads must be auto or a positive integer, got ${JSON.stringify(raw)}`);
  return { threads: Number(raw) };
}

export async function start(argv: string[]): Promise<number> {
  const parsed = parse(argv);
  const scaling = parsed.autoscale ? await import('./autoscale.ts') : null;
  const policy = scaling ? await scaling.loadScalingPolicy(parsed.scalingPolicy) : null;
  const o = scaling && policy ? { ...parsed, ...scaling.initialPools(policy, parsed) } : parsed;
  const modelDir = o.model ?? (await ensureDemoModel());
  const signalled = new Promise<string>((res) => ['SIGINT', 'SIGTERM'].forEach((s) => process.once(s, () => res(s))));
  let platform: Platform;
  try {
    platform = await launchPlatform({ ...o, modelDir, natsUrl: process.env.NATS_URL, redisUrl: process.env.REDIS_URL, logDir: runLogDir(cacheDir()) });
  } catch (err) {
    console.error(`duet: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  console.log(banner({ ...o, modelDir }, platform));
  let scaler: Awaited<ReturnType<NonNullable<typeof scaling>['startLocalAutoscaler']>> | null = null;
  if (scaling && policy) {
    try {
      scaler = await scaling.startLocalAutoscaler(platform, { ...o, modelDir, natsUrl: platform.natsUrl, redisUrl: platform.redisUrl }, policy);
      console.log(`autoscaling: prefill ${policy.prefill.minReplicas}–${policy.prefill.maxReplicas}, decode ${policy.decode.minReplicas}–${policy.decode.maxReplicas}, every ${policy.intervalSeconds} s (log: ${platform.logDir}/autoscaler.log)`);
    } catch (err) {
      console.error(`duet: autoscaler failed to start: ${err instanceof Error ? err.message : String(err)}`);
      await platform.stop();
      return 1;
    }
  }
  const end = await Promise.race([platform.died, signalled, ...(scaler ? [scaler.died] : [])]);
  if (typeof end === 'string') console.log(`\nduet: ${end} received, stopping every process …`);
  else console.error(`duet: ${end.spec.name} exited (code ${end.proc.exitCode}); its log (${end.logFile}):\n${await logTail(end)}`);
  await scaler?.stop();
  await platform.stop();
  return typeof end === 'string' ? 0 : 1;
}

function banner(o: { modelDir: string; prefill: number; decode: number; transport: string }, p: Platform): string {
  const url = p.gatewayUrl;
  const model = basename(o.modelDir);
  return [
    `Duet is up: ${url}/v1  (${o.prefill} prefill + ${o.decode} decode workers, ${o.transport} KV transport)`,
    `model: ${o.modelDir}  (id "${model}")`,
    `logs:  ${p.logDir}`,
    `try:   curl -s ${url}/v1/chat/completions -H 'content-type: application/json' \\`,
    `         -d '{"model":"${model}","messages":[{"role":"user","content":"hello"}],"max_tokens":16}'`,
    'Ctrl-C stops everything.',
  ].join('\n');
}
