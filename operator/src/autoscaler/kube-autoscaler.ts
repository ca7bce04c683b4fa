/**
 * The operator's `PoolAutoscaler` (controller/autoscale.ts): one control loop per DuetService with
 * a ScalingPolicy, each with its own KubeActuator over that service's worker Deployments and its
 * own signal collector on the service's NATS subject prefix. NATS connections are shared per URL.
 *
 * The reconciler asks `desiredReplicas(key, pool)` and writes that count into the Deployment, so it
 * agrees with the scale the actuator patched; every scale change requeues the service.
 */
import { Subjects, connectNats, type Logger } from '@duet/core';
import type { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { NatsConnection } from 'nats';
import type { Registry } from 'prom-client';
import type { AutoscaleTarget, PoolAutoscaler } from '../controller/autoscale.ts';
import type { PoolName } from '../planner/index.ts';
import { KubeActuator } from './kube-actuator.ts';
import { startAutoscaler, type Autoscaler } from './loop.ts';

export interface KubePoolAutoscalerOptions {
  apps: AppsV1Api;
  core: CoreV1Api;
  logger: Logger;
  /** Opens a NATS connection (default connectNats); one per distinct URL. */
  connect?: (url: string) => Promise<NatsConnection>;
  now?: () => number;
  registry?: Registry;
  drainPollMs?: number;
}

interface Entry {
  target: AutoscaleTarget;
  actuator: KubeActuator | null;
  loop: Promise<Autoscaler | null>;
}

export class KubePoolAutoscaler implements PoolAutoscaler {
  private readonly entries = new Map<string, Entry>();
  private readonly conns = new Map<string, Promise<NatsConnection>>();

  constructor(private readonly o: KubePoolAutoscalerOptions) {}

  desiredReplicas(key: string, pool: PoolName): number | undefined {
    return this.entries.get(key)?.actuator?.target(pool);
  }

  ensure(target: AutoscaleTarget): void {
    const existing = this.entries.get(target.key);
    if (existing) {
      existing.target = target;
      void existing.loop.then((a) => a?.setPolicy(target.policy));
      return;
    }
    const entry: Entry = { target, actuator: null, loop: Promise.resolve(null) };
    entry.loop = this.start(entry).catch((err: unknown) => {
      this.o.logger.error({ service: target.key, err: String(err) }, 'autoscaler failed to start; the next reconcile retries');
      this.entries.delete(target.key);
      return null;
    });
    this.entries.set(target.key, entry);
  }

  private async start(entry: Entry): Promise<Autoscaler> {
    const t = entry.target;
    const nc = await this.connection(t.natsUrl);
    return startAutoscaler({
      nc,
      subjects: new Subjects(t.subjectPrefix),
      logger: this.o.logger.child({ service: t.key }),
      policy: t.policy,
      id: `operator-${t.namespace}-${t.name}`.replace(/[^A-Za-z0-9_-]/g, '-'),
      ...(this.o.now ? { now: this.o.now } : {}),
      ...(this.o.registry ? { registry: this.o.registry } : {}),
      ...(this.o.drainPollMs ? { drainPollMs: this.o.drainPollMs } : {}),
      actuator: (deps) => {
        entry.actuator = new KubeActuator(
          {
            apps: this.o.apps,
            core: this.o.core,
            namespace: t.namespace,
            deployments: { prefill: t.pools.prefill.deployment, decode: t.pools.decode.deployment },
            podSelectors: t.podSelectors,
            onScaled: () => entry.target.requeue(),
          },
          deps,
        );
        return entry.actuator;
      },
    });
  }

  private connection(url: string): Promise<NatsConnection> {
    let c = this.conns.get(url);
    if (!c) {
      c = (this.o.connect ?? ((u: string) => connectNats({ url: u, name: 'duet-operator-autoscaler' })))(url);
      void c.catch(() => this.conns.delete(url));
      this.conns.set(url, c);
    }
    return c;
  }

  async release(key: string): Promise<void> {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    const loop = await entry.loop;
    await loop?.stop({ settle: false });
  }

  async close(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((k) => this.release(k)));
    const conns = await Promise.allSettled([...this.conns.values()]);
    this.conns.clear();
    for (const c of conns) if (c.status === 'fulfilled' && !c.value.isClosed()) await c.value.drain();
  }
}
