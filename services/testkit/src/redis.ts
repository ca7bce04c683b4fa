/** A real redis-server for tests, on a free port, without persistence, ready when it answers PING. */
import { launch } from './launch.ts';
import { redisPing } from './readiness.ts';

export interface RedisOptions {
  /** Path or name of the redis-server binary. Default: `redis-server` on PATH. */
  binary?: string;
  /** Default 10 000. */
  startTimeoutMs?: number;
}

export interface RedisServer {
  /** redis://127.0.0.1:<port> */
  url: string;
  port: number;
  pid: number;
  /** The server's temp dir (config, data); removed when it stops. */
  dir: string;
  logTail(): string;
  /** Stops the server; resolves once its port is free. Idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_START_TIMEOUT_MS = 10_000;

export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const { proc, ports, stop } = await launch({
    name: 'redis-server',
    binary: options.binary,
    portCount: 1,
    startTimeoutMs: options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
    // No RDB/AOF: test data dies with the server, and shutdown does not wait on a save.
    setup: (dir, [port]) => [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--save', '',
      '--appendonly', 'no',
      '--dir', dir,
      '--daemonize', 'no',
    ],
    probe: ([port]) => redisPing(port),
  });
  const [port] = ports;
  return { url: `redis://127.0.0.1:${port}`, port, pid: proc.pid, dir: proc.dir, logTail: () => proc.logTail(), stop };
}
