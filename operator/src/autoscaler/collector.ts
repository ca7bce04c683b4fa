/**
 * The signal collector: subscribes over NATS to what the fleet pushes — worker heartbeats
 * (`allWorkerHeartbeats`), LoadReports (`allLoads`) and gateway SloReports (`allSlo`) — and keeps
 * a `Fleet` current. It never scrapes. Malformed messages are logged and dropped.
 *
 * Constructing it does no I/O; `start()` subscribes and resolves once the server has the
 * subscriptions, `stop()` unsubscribes.
 */
import { wire, type Logger, type Subjects } from '@duet/core';
import type { NatsConnection, Subscription } from 'nats';
import { Fleet, type FleetOptions } from './fleet.ts';

export interface CollectorOptions extends FleetOptions {
  nc: NatsConnection;
  subjects: Subjects;
  logger: Logger;
  now: () => number;
}

export class SignalCollector {
  readonly fleet: Fleet;
  private subs: Subscription[] = [];

  constructor(private readonly o: CollectorOptions) {
    this.fleet = new Fleet(o);
  }

  async start(): Promise<void> {
    if (this.subs.length > 0) return;
    const { nc, subjects } = this.o;
    this.subs = [
      this.on(subjects.allWorkerHeartbeats(), (data) => this.fleet.onHeartbeat(wire.workerHeartbeat.decode(data), this.o.now())),
      this.on(subjects.allLoads(), (data) => this.fleet.onLoad(wire.loadReport.decode(data))),
      this.on(subjects.allSlo(), (data) => this.fleet.onSlo(wire.sloReport.decode(data), this.o.now())),
    ];
    await nc.flush();
  }

  private on(subject: string, handle: (data: Uint8Array) => void): Subscription {
    return this.o.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return this.o.logger.warn({ err: String(err), subject }, 'subscription error');
        try {
          handle(msg.data);
        } catch (e) {
          this.o.logger.warn({ err: String(e), subject: msg.subject }, 'malformed signal dropped');
        }
      },
    });
  }

  stop(): void {
    this.subs.forEach((s) => s.unsubscribe());
    this.subs = [];
  }
}
