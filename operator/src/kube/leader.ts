/**
 * Leader election on a coordination.k8s.io/v1 Lease (client-go's algorithm), so that of several
 * operator replicas exactly one reconciles.
 *
 *  - A candidate reads the Lease. Free (absent, empty holder, or not renewed for leaseDuration as
 *    measured on *our* clock since we last saw it change: no trust in other nodes' clocks) → it
 *    writes itself as holder, with the resourceVersion it read; a 409 means another candidate won.
 *  - The leader renews every retryPeriod. It counts itself leader only while its last successful
 *    renew is within renewDeadline; renewDeadline < leaseDuration, so it stops acting before any
 *    candidate may take over. Two replicas therefore never act at once (given clocks that tick at
 *    the same rate).
 *  - `stop({ release: true })` empties the holder so a standby takes over at once.
 *
 *        acquired          renew ok          renew ok      renews fail…   renewDeadline passed
 *   ──────●────────────────────●─────────────────●─────────── ✗ ✗ ✗ ──────────────┼── stop acting
 *   standby waits leaseDuration after the last change it saw ──────────────────────────────┼── acquires
 */
import type { CoordinationV1Api, V1Lease } from '@kubernetes/client-node';
import type { Logger } from '@duet/core';
import { systemClock, type Clock, type TimerHandle } from './clock.ts';
import { isConflict, isNotFound } from './errors.ts';

export interface LeaseClient {
  get(namespace: string, name: string): Promise<V1Lease>;
  create(namespace: string, lease: V1Lease): Promise<V1Lease>;
  replace(namespace: string, name: string, lease: V1Lease): Promise<V1Lease>;
}

export function leaseClient(api: CoordinationV1Api): LeaseClient {
  return {
    get: (namespace, name) => api.readNamespacedLease({ namespace, name }),
    create: (namespace, body) => api.createNamespacedLease({ namespace, body }),
    replace: (namespace, name, body) => api.replaceNamespacedLease({ namespace, name, body }),
  };
}

export interface LeaderElectionOptions {
  namespace: string;
  /** Lease name (the election id). */
  name: string;
  /** This replica, e.g. the pod name. */
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export const LEADER_ELECTION_DEFAULTS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 } as const;

export interface LeaderCallbacks {
  onStartedLeading(): void;
  onStoppedLeading(): void;
  onNewLeader?(identity: string): void;
}

const toMs = (t: Date | string | undefined): number | undefined => (t === undefined ? undefined : new Date(t).getTime());

export class LeaderElector {
  private holding = false;
  private lastRenewAt = -Infinity;
  private observed?: { holder: string; renewMs?: number; rv?: string };
  private observedAt = 0;
  private lastLeader = '';
  private timer?: TimerHandle;
  private running = false;
  private callbacks?: LeaderCallbacks;

  constructor(
    private readonly client: LeaseClient,
    private readonly opts: LeaderElectionOptions,
    private readonly deps: { logger: Logger; clock?: Clock },
  ) {
    if (!(opts.renewDeadlineMs < opts.leaseDurationMs)) throw new Error(`leader election: renewDeadlineMs (${opts.renewDeadlineMs}) must be < leaseDurationMs (${opts.leaseDurationMs})`);
    if (!(opts.retryPeriodMs < opts.renewDeadlineMs)) throw new Error(`leader election: retryPeriodMs (${opts.retryPeriodMs}) must be < renewDeadlineMs (${opts.renewDeadlineMs})`);
  }

  private get clock(): Clock {
    return this.deps.clock ?? systemClock;
  }

  /** True while we hold the lease and renewed it within renewDeadline. */
  isLeader(): boolean {
    return this.holding && this.clock.now() - this.lastRenewAt <= this.opts.renewDeadlineMs;
  }

  /** One acquire-or-renew attempt. Returns whether we lead afterwards. */
  async tick(): Promise<boolean> {
    const now = this.clock.now();
    try {
      await this.tryAcquireOrRenew(now);
    } catch (err) {
      this.deps.logger.warn({ lease: this.opts.name, err: err instanceof Error ? err.message : String(err) }, 'lease acquire/renew failed');
    }
    if (this.holding && this.clock.now() - this.lastRenewAt > this.opts.renewDeadlineMs) this.holding = false;
    return this.isLeader();
  }

  private spec(now: number, prev: V1Lease['spec'] | undefined, holderWasUs: boolean): NonNullable<V1Lease['spec']> {
    const t = new Date(now);
    return {
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: Math.ceil(this.opts.leaseDurationMs / 1000),
      acquireTime: holderWasUs && prev?.acquireTime ? prev.acquireTime : t,
      renewTime: t,
      leaseTransitions: (prev?.leaseTransitions ?? 0) + (holderWasUs || prev === undefined ? 0 : 1),
    };
  }

  private async tryAcquireOrRenew(now: number): Promise<void> {
    const { namespace, name, identity } = this.opts;
    let lease: V1Lease;
    try {
      lease = await this.client.get(namespace, name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        const created = await this.client.create(namespace, { metadata: { name, namespace }, spec: this.spec(now, undefined, false) });
        return this.won(created, now);
      } catch (e) {
        if (isConflict(e)) return this.lost('');
        throw e;
      }
    }
    const holder = lease.spec?.holderIdentity ?? '';
    this.observe(lease, now);
    if (holder !== '' && holder !== identity && this.observedAt + this.opts.leaseDurationMs > now) return this.lost(holder);
    try {
      const next: V1Lease = { ...lease, metadata: { ...lease.metadata, name }, spec: this.spec(now, lease.spec, holder === identity) };
      const written = await this.client.replace(namespace, name, next);
      this.won(written, now);
    } catch (err) {
      if (isConflict(err)) return this.lost(holder);
      throw err;
    }
  }

  private observe(lease: V1Lease, now: number): void {
    const rec = { holder: lease.spec?.holderIdentity ?? '', renewMs: toMs(lease.spec?.renewTime), rv: lease.metadata?.resourceVersion };
    const o = this.observed;
    if (!o || o.holder !== rec.holder || o.renewMs !== rec.renewMs || o.rv !== rec.rv) {
      this.observed = rec;
      this.observedAt = now;
    }
    if (rec.holder !== '' && rec.holder !== this.lastLeader) {
      this.lastLeader = rec.holder;
      if (rec.holder !== this.opts.identity) this.callbacks?.onNewLeader?.(rec.holder);
    }
  }

  private won(lease: V1Lease, now: number): void {
    this.observe(lease, now);
    this.holding = true;
    this.lastRenewAt = now;
  }

  private lost(holder: string): void {
    if (holder !== this.opts.identity) this.holding = false;
  }

  /**
   * Runs the election loop: callbacks fire on each transition. Not leading → try every
   * retryPeriod; leading → renew every retryPeriod, and give up once renewDeadline has passed
   * without a successful renew.
   */
  run(callbacks: LeaderCallbacks): void {
    if (this.running) return;
    this.running = true;
    this.callbacks = callbacks;
    let leading = false;
    const transition = (leads: boolean): void => {
      if (leads === leading) return;
      leading = leads;
      const fields = { lease: this.opts.name, identity: this.opts.identity };
      if (leads) this.deps.logger.info(fields, 'became leader');
      else this.deps.logger.warn(fields, 'lost leadership');
      try {
        if (leads) callbacks.onStartedLeading();
        else callbacks.onStoppedLeading();
      } catch (err) {
        this.deps.logger.error({ ...fields, err }, 'leader callback failed');
      }
    };
    const loop = async (): Promise<void> => {
      const leads = await this.tick();
      if (!this.running) return;
      transition(leads);
      this.timer = this.clock.setTimer(() => void loop(), this.opts.retryPeriodMs);
    };
    void loop();
  }

  /** Stops the loop; with `release` (and while leading) empties the holder for a fast handover. */
  async stop(opts: { release: boolean }): Promise<void> {
    const wasLeading = this.isLeader();
    this.running = false;
    this.timer?.cancel();
    if (wasLeading) this.callbacks?.onStoppedLeading();
    this.holding = false;
    if (!opts.release || !wasLeading) return;
    try {
      const lease = await this.client.get(this.opts.namespace, this.opts.name);
      if (lease.spec?.holderIdentity !== this.opts.identity) return;
      const now = new Date(this.clock.now());
      await this.client.replace(this.opts.namespace, this.opts.name, { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now } });
    } catch (err) {
      this.deps.logger.warn({ lease: this.opts.name, err: err instanceof Error ? err.message : String(err) }, 'lease release failed (the standby takes over after the lease expires)');
    }
  }
}
