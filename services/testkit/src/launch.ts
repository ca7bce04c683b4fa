/**
 * The start-up sequence shared by every server: find the binary, take free ports, make a temp dir,
 * spawn under the guard, wait until ready. A lost race for a port (another process bound it between
 * freePort() and the server's bind) is retried with new ports; any other failure is reported once,
 * with the server's output, and leaves nothing running.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary, type ServerBinary } from './binaries.ts';
import { ServerStartError } from './errors.ts';
import { freePort, releasePort } from './ports.ts';
import { ServerProcess } from './process.ts';
import { waitReady, type Probe } from './readiness.ts';

const PORT_RACE_ATTEMPTS = 3;

export interface LaunchSpec {
  name: ServerBinary;
  /** Binary override (path or name), see findBinary. */
  binary?: string;
  portCount: number;
  startTimeoutMs: number;
  /** Writes any config into `dir` and returns the server's arguments. */
  setup(dir: string, ports: number[]): string[];
  probe(ports: number[]): Probe;
}

export interface Launched {
  proc: ServerProcess;
  ports: number[];
  /** Stops the server (idempotent) and lets its ports be handed out again. */
  stop: () => Promise<void>;
}

export async function launch(spec: LaunchSpec): Promise<Launched> {
  const binary = findBinary(spec.name, spec.binary);
  for (let attempt = 1; ; attempt++) {
    const ports: number[] = [];
    for (let i = 0; i < spec.portCount; i++) ports.push(await freePort());
    const dir = mkdtempSync(join(tmpdir(), `duet-testkit-${spec.name}-`));
    const proc = new ServerProcess({ binary, args: spec.setup(dir, ports), dir });
    const stop = async (): Promise<void> => {
      await proc.stop();
      ports.forEach(releasePort);
    };
    try {
      await waitReady(proc, spec.probe(ports), spec.startTimeoutMs);
      return { proc, ports, stop };
    } catch (e) {
      await stop();
      const lostPortRace = e instanceof ServerStartError && /address already in use/i.test(e.logTail);
      if (!lostPortRace || attempt >= PORT_RACE_ATTEMPTS) throw e;
    }
  }
}
