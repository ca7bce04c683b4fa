/** A real nats-server for tests, on free ports, ready when its /healthz says so. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch } from './launch.ts';
import { httpOk } from './readiness.ts';

export interface NatsOptions {
  /** Path or name of the nats-server binary. Default: `nats-server` on PATH. */
  binary?: string;
  /** Default 10 000. */
  startTimeoutMs?: number;
  /** Server max_payload. Default: the server's own (1 MiB). */
  maxPayloadBytes?: number;
  /** Enable JetStream (store in the server's temp dir). Default false: Duet uses NATS core. */
  jetstream?: boolean;
}

export interface NatsServer {
  /** nats://127.0.0.1:<port> */
  url: string;
  port: number;
  /** HTTP monitoring port (/healthz, /varz, /connz). */
  monitorPort: number;
  /** The guard process (and process group) id. */
  pid: number;
  /** The server's temp dir (config, data); removed when it stops. */
  dir: string;
  /** The last few KiB the server printed. */
  logTail(): string;
  /** Stops the server; resolves once its ports are free. Idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_START_TIMEOUT_MS = 10_000;

/** nats-server's config syntax; JSON strings are valid there, so paths need no extra escaping. */
function natsConfig(dir: string, port: number, monitorPort: number, options: NatsOptions): string {
  const lines = [
    `listen: "127.0.0.1:${port}"`,
    `http: "127.0.0.1:${monitorPort}"`,
    `server_name: "duet-testkit-${port}"`,
  ];
  if (options.maxPayloadBytes !== undefined) lines.push(`max_payload: ${options.maxPayloadBytes}`);
  if (options.jetstream) lines.push(`jetstream { store_dir: ${JSON.stringify(join(dir, 'jetstream'))} }`);
  return lines.join('\n') + '\n';
}

export async function startNats(options: NatsOptions = {}): Promise<NatsServer> {
  const { proc, ports, stop } = await launch({
    name: 'nats-server',
    binary: options.binary,
    portCount: 2,
    startTimeoutMs: options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
    setup(dir, [port, monitorPort]) {
      const conf = join(dir, 'nats.conf');
      writeFileSync(conf, natsConfig(dir, port, monitorPort, options));
      return ['-c', conf];
    },
    probe: ([, monitorPort]) => httpOk(`http://127.0.0.1:${monitorPort}/healthz`),
  });
  const [port, monitorPort] = ports;
  return { url: `nats://127.0.0.1:${port}`, port, monitorPort, pid: proc.pid, dir: proc.dir, logTail: () => proc.logTail(), stop };
}
