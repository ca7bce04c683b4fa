/**
 * Free TCP ports for test servers. The OS picks (listen on port 0), so two test files never race
 * for a fixed port; the well-known ports of the machine's own servers are never handed out, and a
 * port is not handed out twice by this process while it may still be in use.
 */
import { createServer } from 'node:net';

/** Ports other servers hold on these machines (NATS client/cluster/monitor, Redis). */
export const RESERVED_PORTS: ReadonlySet<number> = new Set([4222, 6222, 8222, 6379]);

const handedOut = new Set<number>();

function listenOnZero(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port from listen(0)'))));
    });
  });
}

/** A port that was free a moment ago on 127.0.0.1. Start-up retries cover the rare race. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await listenOnZero();
    if (RESERVED_PORTS.has(port) || handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error('freePort: no usable port after 50 tries');
}

/** Lets a port be handed out again (after its server stopped). */
export function releasePort(port: number): void {
  handedOut.delete(port);
}

/** True when this process could listen on 127.0.0.1:port right now (nothing holds it). */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}
