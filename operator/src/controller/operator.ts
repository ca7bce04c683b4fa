/**
 * The operator as a component: API clients, the Event recorder, the NATS policy publisher, leader
 * election and the controller. With leader election on, the controller runs only while this
 * replica holds the Lease (started on onStartedLeading, stopped on onStoppedLeading) and every
 * reconcile also checks `isLeader()` before it writes, so a replica that lost the Lease mid-pass
 * stops at the next write. Start/stop transitions run one after another, never interleaved.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '@duet/core';
import { KubeClients } from '../kube/clients.ts';
import { systemClock, type Clock } from '../kube/clock.ts';
import { EventRecorder } from '../kube/events.ts';
import { LEADER_ELECTION_DEFAULTS, LeaderElector, leaseClient, type LeaderElectionOptions } from '../kube/leader.ts';
import type { PoolAutoscaler } from './autoscale.ts';
import { Controller, type ControllerOptions } from './controller.ts';
import type { OperatorMetrics } from './metrics.ts';
import { NatsPolicyPublisher, type PolicyPublisher } from './publisher.ts';

export const EVENT_COMPONENT = 'duet-operator';

export interface OperatorOptions {
  /** This replica's name (pod name): Lease holder and Events' reportingInstance. */
  identity: string;
  /** undefined = no leader election (a single replica). */
  leaderElection?: Omit<LeaderElectionOptions, 'identity' | 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'> &
    Partial<Pick<LeaderElectionOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>>;
  controller?: Partial<ControllerOptions>;
}

export interface OperatorDeps {
  logger: Logger;
  clock?: Clock;
  publisher?: PolicyPublisher;
  autoscaler?: PoolAutoscaler;
  metrics?: OperatorMetrics;
}

export class Operator {
  readonly clients: KubeClients;
  private readonly controller: Controller;
  private readonly elector?: LeaderElector;
  private readonly publisher: PolicyPublisher;
  private transitions: Promise<void> = Promise.resolve();
  private started = false;

  constructor(
    kc: KubeConfig,
    private readonly options: OperatorOptions,
    private readonly deps: OperatorDeps,
  ) {
    const clock = deps.clock ?? systemClock;
    this.clients = new KubeClients(kc);
    this.publisher = deps.publisher ?? new NatsPolicyPublisher();
    const le = options.leaderElection;
    if (le) {
      this.elector = new LeaderElector(leaseClient(this.clients.coordination), { ...LEADER_ELECTION_DEFAULTS, ...le, identity: options.identity }, { logger: deps.logger, clock });
    }
    const recorder = new EventRecorder(this.clients.core, { component: EVENT_COMPONENT, instance: options.identity, clock }, deps.logger);
    this.controller = new Controller(
      {
        clients: this.clients,
        recorder,
        publisher: this.publisher,
        autoscaler: deps.autoscaler,
        logger: deps.logger,
        metrics: deps.metrics,
        clock,
        canAct: () => this.isLeader(),
      },
      options.controller,
    );
  }

  /** May this replica act now? (Started, and holding the Lease when electing.) */
  isLeader(): boolean {
    return this.started && (this.elector ? this.elector.isLeader() : true);
  }

  private transition(fn: () => Promise<void>): Promise<void> {
    this.transitions = this.transitions.then(fn).catch((err: unknown) => this.deps.logger.error({ err }, 'controller start/stop failed'));
    return this.transitions;
  }

  /** Starts electing (or, without leader election, the controller). Resolves once that has begun. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (!this.elector) {
      this.deps.metrics?.leader.set(1);
      await this.controller.start();
      return;
    }
    this.elector.run({
      onStartedLeading: () => {
        this.deps.metrics?.leader.set(1);
        void this.transition(() => this.startWhileLeading());
      },
      onStoppedLeading: () => {
        this.deps.metrics?.leader.set(0);
        void this.transition(() => this.controller.stop());
      },
      onNewLeader: (id) => this.deps.logger.info({ leader: id }, 'following leader'),
    });
  }

  /**
   * Starts the controller, retrying (an API server that is briefly unreachable fails the first
   * lists) for as long as this replica still leads; leadership may also be lost meanwhile.
   */
  private async startWhileLeading(): Promise<void> {
    const retryMs = this.options.leaderElection?.retryPeriodMs ?? LEADER_ELECTION_DEFAULTS.retryPeriodMs;
    while (this.started && this.elector?.isLeader()) {
      try {
        await this.controller.start();
        return;
      } catch (err) {
        this.deps.logger.error({ err: err instanceof Error ? err.message : String(err), retryInMs: retryMs }, 'controller failed to start; retrying');
        await new Promise((r) => setTimeout(r, retryMs));
      }
    }
  }

  /**
   * Stops acting at once (every later write is fenced), lets in-flight reconciles finish, then
   * releases the Lease so a standby takes over without waiting for it to expire — in that order,
   * so the two never overlap — and closes NATS.
   */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.transition(() => this.controller.stop());
    await this.elector?.stop({ release: true });
    await this.deps.autoscaler?.close();
    await this.publisher.close();
    this.deps.metrics?.leader.set(0);
  }
}
