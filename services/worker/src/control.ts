/**
 * The worker's control endpoint, so an autoscaler can drain it before removing it (scale-down
 * never kills a request):
 *
 *   WorkerControlRequest{drain}  ─▶ duet.workers.control.<id> ─▶ drain() starts: heartbeats say
 *                                                                DRAINING, new work is refused
 *   WorkerControlRequest{}       ─▶ status: { state, inflight, drained }
 *   …                                                          drained = true once nothing is held
 *
 * A drain request is idempotent. With `deadline_ms`, whatever is still held when the deadline
 * passes is cancelled (logged at error level) so the worker can go; 0 waits as long as it takes.
 */
import { wire, type WorkerState, type Logger, type Subjects, type WorkerControlRequest } from '@duet/core';
import type { NatsConnection, Subscription } from 'nats';

/** What the control endpoint needs from its worker. */
export interface ControlTarget {
  workerId: string;
  state(): WorkerState;
  /** Requests held now. */
  inflight(): number;
  /** Stop taking work and resolve once nothing is held (Worker.drain). */
  drain(): Promise<void>;
  /** Cancel every held request (their peers see the abort). */
  cancelAll(): void;
}

export class WorkerControl {
  private sub: Subscription | null = null;
  private draining: Promise<void> | null = null;
  private drained = false;
  private deadline: NodeJS.Timeout | null = null;
  private cancelledAtDeadline = 0;

  constructor(
    private readonly o: { nc: NatsConnection; subjects: Subjects; target: ControlTarget; logger: Logger },
  ) {}

  start(): void {
    this.sub = this.o.nc.subscribe(this.o.subjects.workerControl(this.o.target.workerId), {
      callback: (err, msg) => {
        if (err) return this.o.logger.warn({ err }, 'control subscription error');
        try {
          const req = wire.workerControlRequest.decode(msg.data);
          if (req.drain) this.startDrain(req);
          msg.respond(this.status());
        } catch (e) {
          this.o.logger.warn({ err: String(e) }, 'malformed worker control request');
        }
      },
    });
  }

  private status(): Uint8Array {
    const t = this.o.target;
    return wire.workerControlReply.encode({
      workerId: t.workerId,
      state: t.state(),
      inflight: t.inflight(),
      drained: this.drained,
      cancelledAtDeadline: this.cancelledAtDeadline,
    });
  }

  private startDrain(req: WorkerControlRequest): void {
    if (this.draining) return;
    const t = this.o.target;
    this.o.logger.info({ requester: req.requesterId, deadlineMs: req.deadlineMs, inflight: t.inflight() }, 'drain requested');
    this.draining = t.drain().then(
      () => {
        this.drained = true;
        if (this.deadline) clearTimeout(this.deadline);
      },
      (err: unknown) => this.o.logger.error({ err }, 'drain failed'),
    );
    if (req.deadlineMs > 0) this.deadline = setTimeout(() => this.onDeadline(req.deadlineMs), req.deadlineMs);
  }

  private onDeadline(deadlineMs: number): void {
    this.deadline = null;
    const held = this.o.target.inflight();
    if (this.drained || held === 0) return;
    this.cancelledAtDeadline = held;
    this.o.logger.error({ held, deadlineMs }, 'DRAIN DEADLINE PASSED: cancelling the requests still held so the worker can be removed');
    this.o.target.cancelAll();
  }

  stop(): void {
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = null;
    this.sub?.unsubscribe();
    this.sub = null;
  }
}
