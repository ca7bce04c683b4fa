/**
 * When each simulated request is sent: the load tester's runner (run/runner.ts) on simulated time.
 *
 *   open loop     a request goes out at its arrival time whatever is in flight
 *   closed loop   `concurrency` lanes; a lane takes the next request when its last one ended
 *   sessions      turn t goes out only after turn t − 1 ended plus its think time (in a closed
 *                 loop the lane waits for it, holding its slot), never before its own arrival
 */
import type { SimRequest } from './requests.ts';

export class Feeder {
  private readonly ends = new Map<string, number>();
  private readonly waiters = new Map<string, (endMs: number) => void>();
  /** Session turns present: a turn whose predecessor was not sent (cut by a limit) does not wait. */
  private readonly present = new Set<string>();
  private next = 0;

  constructor(
    private readonly requests: readonly SimRequest[],
    private readonly concurrency: number | null,
    /** Sends `req` at `atMs`. */
    private readonly send: (req: SimRequest, atMs: number) => void,
  ) {
    for (const r of requests) if (r.session) this.present.add(`${r.session.id}#${r.session.turn}`);
  }

  start(): void {
    if (this.concurrency === null) {
      for (const r of this.requests) this.whenGateOpen(r, r.arrivalMs);
    } else {
      for (let i = 0; i < this.concurrency; i++) this.lane(0);
    }
  }

  /** A request ended (or failed) at endMs: open its session's next turn; free its closed-loop lane. */
  ended(req: SimRequest, endMs: number): void {
    if (req.session) {
      const key = `${req.session.id}#${req.session.turn}`;
      this.ends.set(key, endMs);
      const w = this.waiters.get(key);
      if (w) {
        this.waiters.delete(key);
        w(endMs);
      }
    }
    if (this.concurrency !== null) this.lane(endMs);
  }

  private lane(atMs: number): void {
    if (this.next >= this.requests.length) return;
    this.whenGateOpen(this.requests[this.next++], atMs);
  }

  /** Sends `req` no earlier than `notBefore`, after its previous turn's end plus think time. */
  private whenGateOpen(req: SimRequest, notBefore: number): void {
    const s = req.session;
    const prevKey = s ? `${s.id}#${s.turn - 1}` : '';
    if (!s || s.turn === 0 || !this.present.has(prevKey)) return this.send(req, notBefore);
    const prevEnd = this.ends.get(prevKey);
    if (prevEnd !== undefined) return this.send(req, Math.max(notBefore, prevEnd + s.thinkMs));
    this.waiters.set(prevKey, (endMs) => this.send(req, Math.max(notBefore, endMs + s.thinkMs)));
  }
}
