/** The launcher's readiness gate: every expected worker has heartbeated and the gateway says ready. */
import { connect } from 'nats';
import { Subjects, wire } from '@duet/core';

export interface ReadinessOptions {
  natsUrl: string;
  workerIds: readonly string[];
  gatewayUrl: string;
  timeoutMs: number;
}

export async function waitUntilReady(o: ReadinessOptions): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
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
