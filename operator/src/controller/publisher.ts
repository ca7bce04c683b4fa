/**
 * Live RoutingPolicy distribution over NATS: a `PolicyUpdate` (the router's policy document as
 * JSON, its name and generation) on `<prefix>.policy.routing`, which every router replica of the
 * DuetService subscribes to and applies without restarting. The ConfigMap the routers mount is
 * the other path (a router that was down, or a NATS message that was lost, still converges).
 *
 * One NATS connection per distinct URL, made on first use. A publish is remembered per
 * DuetService (generation and content), so a reconcile republishes only what changed; a failed
 * publish is not remembered and is retried on the next reconcile.
 */
import { Subjects, connectNats, wire } from '@duet/core';
import type { NatsConnection } from 'nats';
import type { RoutingPolicyDoc } from './policies.ts';

export interface PolicyPublisher {
  /** Publishes unless this exact document was already published for `serviceKey`. Returns whether it published. */
  publish(serviceKey: string, target: { natsUrl: string; subjectPrefix: string }, doc: RoutingPolicyDoc): Promise<boolean>;
  /** Forgets what was published for a service (deleted, or its policy reference removed). */
  forget(serviceKey: string): void;
  close(): Promise<void>;
}

export class NatsPolicyPublisher implements PolicyPublisher {
  private readonly conns = new Map<string, Promise<NatsConnection>>();
  private readonly published = new Map<string, string>();

  constructor(private readonly connect: (url: string) => Promise<NatsConnection> = (url) => connectNats({ url, name: 'duet-operator' })) {}

  private connection(url: string): Promise<NatsConnection> {
    let c = this.conns.get(url);
    if (!c) {
      c = this.connect(url);
      c.catch(() => this.conns.delete(url));
      this.conns.set(url, c);
    }
    return c;
  }

  async publish(serviceKey: string, target: { natsUrl: string; subjectPrefix: string }, doc: RoutingPolicyDoc): Promise<boolean> {
    const fingerprint = `${target.natsUrl} ${target.subjectPrefix} ${doc.generation} ${doc.documentJson}`;
    if (this.published.get(serviceKey) === fingerprint) return false;
    const nc = await this.connection(target.natsUrl);
    const payload = wire.policyUpdate.encode({ kind: 'RoutingPolicy', name: doc.name, generation: BigInt(doc.generation), documentJson: doc.documentJson });
    nc.publish(new Subjects(target.subjectPrefix).routingPolicy(), payload);
    await nc.flush();
    this.published.set(serviceKey, fingerprint);
    return true;
  }

  forget(serviceKey: string): void {
    this.published.delete(serviceKey);
  }

  async close(): Promise<void> {
    const conns = [...this.conns.values()];
    this.conns.clear();
    await Promise.all(conns.map(async (c) => (await c.catch(() => undefined))?.drain().catch(() => undefined)));
  }
}
