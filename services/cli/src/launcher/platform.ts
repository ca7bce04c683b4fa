/**
 * The platform as one object: servers (unless given), the router, workers and the gateway as child
 * processes, ready when every worker heartbeats and the gateway's /readyz answers. Used by
 * `duet start` and by benchmarks that need whole platforms side by side.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startNats, startRedis } from '@duet/testkit';
import { launchPlan, workerIds, type LaunchOptions } from './plan.ts';
import { logTail, startChild, stopChildren, type Child } from './children.ts';
import { waitUntilReady } from './readiness.ts';

export interface PlatformOptions extends Omit<LaunchOptions, 'natsUrl' | 'redisUrl'> {
  natsUrl?: string;
  redisUrl?: string;
  /** Start a redis-server when no redisUrl is given. */
  redis?: boolean;
  logDir: string;
  readyTimeoutMs: number;
}

export interface Platform {
  gatewayUrl: string;
  natsUrl: string;
  redisUrl: string | null;
  children: Child[];
  logDir: string;
  /** Resolves with the first child that exits (unexpectedly, unless stop() was called). */
  died: Promise<Child>;
  stop(): Promise<void>;
}

async function startServers(o: PlatformOptions): Promise<{ natsUrl: string; redisUrl: string | null; stops: Array<() => Promise<void>> }> {
  const stops: Array<() => Promise<void>> = [];
  try {
    let natsUrl = o.natsUrl;
    if (!natsUrl) {
      const nats = await startNats();
      stops.push(() => nats.stop());
      natsUrl = nats.url;
    }
    let redisUrl = o.redisUrl ?? null;
    if (!redisUrl && o.redis) {
      const redis = await startRedis();
      stops.push(() => redis.stop());
      redisUrl = redis.url;
    }
    return { natsUrl, redisUrl, stops };
  } catch (err) {
    await Promise.all(stops.map((s) => s()));
    throw err;
  }
}

export async function launchPlatform(o: PlatformOptions): Promise<Platform> {
  const { natsUrl, redisUrl, stops } = await startServers(o);
  await mkdir(o.logDir, { recursive: true });
  const opts: LaunchOptions = { ...o, natsUrl, redisUrl };
  const children = launchPlan(opts).map((spec) => startChild(spec, o.logDir));
  const stop = async (): Promise<void> => {
    await stopChildren(children);
    await Promise.all(stops.map((s) => s()));
  };
  const died = new Promise<Child>((resolve) => children.forEach((c) => void c.exited.then(() => !c.expectedExit && resolve(c))));
  const gatewayUrl = `http://${o.host}:${o.port}`;
  const routerLogFile = children.find((c) => c.spec.name === 'router')?.logFile;
  const ready = waitUntilReady({ natsUrl, workerIds: workerIds(opts), gatewayUrl, routerLogFile, timeoutMs: o.readyTimeoutMs });
  const first = await Promise.race([ready.then(() => null), died]).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  if (first) {
    const tail = await logTail(first);
    await stop();
    throw new Error(`${first.spec.name} exited (code ${first.proc.exitCode}) before the platform was ready; ${first.logFile}:\n${tail}`);
  }
  return { gatewayUrl, natsUrl, redisUrl, children, logDir: o.logDir, died, stop };
}

export function runLogDir(root: string): string {
  return join(root, 'logs', new Date().toISOString().replace(/[:.]/g, '-'));
}
