/**
 * `duet start` (what `npm start` runs): the whole platform on this machine — nats-server (and
 * redis-server with --redis) from PATH on free ports unless NATS_URL / REDIS_URL are given, the
 * router, N prefill + M decode workers and the gateway, each its own process. Once every worker
 * heartbeats and the gateway is ready it prints the URL, the model folder and an example curl.
 * SIGINT / SIGTERM stop every process it started; a child that dies takes the platform down with
 * the tail of its log.
 */
import { mkdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { BACKEND_NAMES } from '@duet/engine';
import { MissingBinaryError, startNats, startRedis } from '@duet/testkit';
import { CliUsageError, oneOf, optionalNumber, parseFlags } from '../args.ts';
import { cacheDir, ensureDemoModel } from './demo.ts';
import { launchPlan, workerIds, type LaunchOptions } from '../launcher/plan.ts';
import { logTail, startChild, stopChildren, type Child } from '../launcher/children.ts';
import { waitUntilReady } from '../launcher/readiness.ts';

function parse(argv: string[]): Omit<LaunchOptions, 'natsUrl' | 'redisUrl' | 'modelDir'> & { model?: string; redis: boolean; readyTimeoutMs: number } {
  const v = parseFlags(argv, {
    port: { type: 'string' }, host: { type: 'string' }, model: { type: 'string' }, prefill: { type: 'string' }, decode: { type: 'string' },
    transport: { type: 'string' }, backend: { type: 'string' }, 'kv-cache-mib': { type: 'string' }, redis: { type: 'boolean' }, 'ready-timeout-s': { type: 'string' },
  });
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
    redis: v.redis === true,
    readyTimeoutMs: (optionalNumber(v, 'ready-timeout-s') ?? 180) * 1000,
  };
}

async function servers(wantRedis: boolean): Promise<{ natsUrl: string; redisUrl: string | null; stop: () => Promise<void> }> {
  const stops: Array<() => Promise<void>> = [];
  try {
    let natsUrl = process.env.NATS_URL;
    if (!natsUrl) {
      const nats = await startNats();
      stops.push(() => nats.stop());
      natsUrl = nats.url;
    }
    let redisUrl = process.env.REDIS_URL ?? null;
    if (!redisUrl && wantRedis) {
      const redis = await startRedis();
      stops.push(() => redis.stop());
      redisUrl = redis.url;
    }
    return { natsUrl, redisUrl, stop: async () => void (await Promise.all(stops.map((s) => s()))) };
  } catch (err) {
    await Promise.all(stops.map((s) => s()));
    throw err;
  }
}

export async function start(argv: string[]): Promise<number> {
  const o = parse(argv);
  const modelDir = o.model ?? (await ensureDemoModel());
  let srv;
  try {
    srv = await servers(o.redis);
  } catch (err) {
    if (err instanceof MissingBinaryError) {
      console.error(`duet: ${err.message}`);
      return 1;
    }
    throw err;
  }
  const logDir = join(cacheDir(), 'logs', new Date().toISOString().replace(/[:.]/g, '-'));
  await mkdir(logDir, { recursive: true });
  const opts: LaunchOptions = { ...o, modelDir, natsUrl: srv.natsUrl, redisUrl: srv.redisUrl };
  const children = launchPlan(opts).map((spec) => startChild(spec, logDir));
  return supervise(children, opts, o.readyTimeoutMs, logDir, srv.stop);
}

async function supervise(children: Child[], o: LaunchOptions, readyTimeoutMs: number, logDir: string, stopServers: () => Promise<void>): Promise<number> {
  let stopping = false;
  const shutdown = async (code: number): Promise<number> => {
    stopping = true;
    await stopChildren(children);
    await stopServers();
    return code;
  };
  const died = Promise.race(children.map((c) => c.exited.then(() => c)));
  const signalled = new Promise<string>((res) => ['SIGINT', 'SIGTERM'].forEach((s) => process.once(s, () => res(s))));
  const ready = waitUntilReady({ natsUrl: o.natsUrl, workerIds: workerIds(o), gatewayUrl: `http://${o.host}:${o.port}`, timeoutMs: readyTimeoutMs });
  const first = await Promise.race([ready.then(() => 'ready' as const), died, signalled]);
  if (first !== 'ready') return shutdown(await report(first, stopping));
  console.log(banner(o, logDir));
  const end = await Promise.race([died, signalled]);
  return shutdown(await report(end, stopping));
}

async function report(what: Child | string, stopping: boolean): Promise<number> {
  if (typeof what === 'string') {
    console.log(`\nduet: ${what} received, stopping every process …`);
    return 0;
  }
  if (!stopping) console.error(`duet: ${what.spec.name} exited (code ${what.proc.exitCode}); its log (${what.logFile}):\n${await logTail(what)}`);
  return 1;
}

function banner(o: LaunchOptions, logDir: string): string {
  const url = `http://${o.host}:${o.port}`;
  return [
    `Duet is up: ${url}/v1  (${o.prefill} prefill + ${o.decode} decode workers, ${o.transport} KV transport)`,
    `model: ${o.modelDir}  (id "${basename(o.modelDir)}")`,
    `logs:  ${logDir}`,
    `try:   curl -s ${url}/v1/chat/completions -H 'content-type: application/json' \\`,
    `         -d '{"model":"${basename(o.modelDir)}","messages":[{"role":"user","content":"hello"}],"max_tokens":16}'`,
    'Ctrl-C stops everything.',
  ].join('\n');
}
