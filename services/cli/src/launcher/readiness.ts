/**
 * The launcher's readiness gate: the router is subscribed (its log says "router ready"), every
 * expected worker has heartbeated since then (so the router has seen each of them: a request sent
 * right after launch is placed, not refused with no_capacity), and the gateway says ready.
 */
import { readFile } from 'node:fs/promises';
import { connect } from 'nats';
import { Subjects, wire } from '@duet/core';

export interface ReadinessOptions {
  natsUrl: string;
  workerIds: readonly string[];
  gatewayUrl: string;
  /** The router's log file: beats are counted only once it logged "router ready". */
  routerLogFile?: string;
  timeoutMs: number;
}

async function waitForRouter(logFile: string, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const text = await readFile(logFile, 'utf8').catch(() => '');
    if (text.includes('"router ready"')) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`router not ready (no "router ready" in ${logFile})`);
}

export async function waitUntilReady(o: ReadinessOptions): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  if (o.routerLogFile) await waitForRouter(o.routerLogFile, deadline);
  const nc = await connect({ servers: o.natsUrl, name: 'duet-launcher' });
  try {
    const seen = new Set<string>();
    const sub = nc.subscribe(new Subjects().allWorkerHeartbeats());
    const timer = setTimeout(() => sub.unsubscribe(), o.timeoutMs);
    for await (const m of sub) {
      seen.add(wire.workerHeartbeat.decode(m.data).worker?.workerId ?? '');
      if (o.workerIds.every((id) => seen.has(id))) break;
    }
    clearTimeout(timer);
    const missing = o.workerIds.filter((id) => !seen.has(id));
    if (missing.length > 0) throw new Error(`workers not up after ${o.timeoutMs} ms: ${missing.join(', ')}`);
  } finally {
    await nc.close();
  }
  while (Date.now() < deadline) {
    const ok = await fetch(`${o.gatewayUrl}/readyz`).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`gateway not ready at ${o.gatewayUrl}/readyz after ${o.timeoutMs} ms`);
}
