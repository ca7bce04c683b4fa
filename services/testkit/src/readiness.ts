/**
 * Waiting for a server to accept work, by asking it (never by sleeping a fixed time): retry a probe
 * with exponential backoff (5 ms doubling to 100 ms) until it succeeds, the process exits, or the
 * start timeout passes. Probes are cheap and each has its own short timeout.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { ServerStartError } from './errors.ts';
import type { ServerProcess } from './process.ts';

const FIRST_DELAY_MS = 5;
const MAX_DELAY_MS = 100;
const PROBE_TIMEOUT_MS = 1000;

export type Probe = () => Promise<boolean>;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves when `probe` returns true; throws ServerStartError with the server's output otherwise. */
export async function waitReady(proc: ServerProcess, probe: Probe, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let wait = FIRST_DELAY_MS;
  let lastError: unknown;
  for (;;) {
    if (proc.hasExited()) {
      const code = await proc.exited;
      throw new ServerStartError(proc.binary, `exited during start-up (code ${code})`, proc.logTail());
    }
    try {
      if (await probe()) return;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      throw new ServerStartError(proc.binary, `not ready after ${timeoutMs} ms`, proc.logTail(), { cause: lastError });
    }
    await delay(Math.min(wait, Math.max(0, deadline - Date.now())));
    wait = Math.min(wait * 2, MAX_DELAY_MS);
  }
}

/** NATS monitoring endpoint: 200 from /healthz once the server accepts clients. */
export function httpOk(url: string): Probe {
  return () =>
    new Promise((resolve, reject) => {
      const req = request(url, { agent: false, timeout: PROBE_TIMEOUT_MS }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.once('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
      req.once('error', reject);
      req.end();
    });
}

/** Redis: an inline PING answered by +PONG (a loading server answers -LOADING instead). */
export function redisPing(port: number): Probe {
  return () =>
    new Promise((resolve, reject) => {
      const sock = connect({ port, host: '127.0.0.1' });
      let got = '';
      sock.setTimeout(PROBE_TIMEOUT_MS, () => sock.destroy(new Error('PING timed out')));
      sock.once('error', reject);
      sock.once('connect', () => sock.write('PING\r\n'));
      sock.on('data', (b: Buffer) => {
        got += b.toString('latin1');
        if (!got.includes('\r\n')) return;
        sock.destroy();
        resolve(got.startsWith('+PONG'));
      });
    });
}
