/**
 * A transfer's deadline: relative milliseconds (no shared clock), measured from the last progress.
 * Each side calls `extend()` whenever the transfer moves (a layer becomes ready, a chunk leaves or
 * arrives), so a long prefill whose layers stream out over many seconds is not cut off, while a
 * transfer that stops moving for `budgetMs` — a dead peer, a lost chunk, a stuck source — fails.
 *
 * `extend()` runs once or twice per chunk, so it only moves `endsAt`; the one timer, when it
 * fires early, re-arms itself for what is left (no clearTimeout/setTimeout per chunk).
 */

export class DeadlineExceeded extends Error {
  constructor(what: string) {
    super(`deadline passed while ${what}`);
    this.name = 'DeadlineExceeded';
  }
}

/** Milliseconds from a monotonic clock (tests pass a fake one together with mocked timers). */
export type Clock = () => number;

export class Deadline {
  private endsAt: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly budgetMs: number,
    private readonly onExpire: () => void,
    private readonly now: Clock = () => performance.now(),
  ) {
    this.endsAt = now() + budgetMs;
    this.arm(budgetMs);
  }

  /** Progress: the deadline is again `budgetMs` away (a no-op once cleared or expired). */
  extend(): void {
    if (this.timer !== undefined) this.endsAt = this.now() + this.budgetMs;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.check(), ms);
  }

  /** The timer fired: expire, or wait out the rest when progress moved the deadline meanwhile. */
  private check(): void {
    if (this.timer === undefined) return;
    const left = this.endsAt - this.now();
    if (left > 0) return this.arm(Math.ceil(left));
    this.timer = undefined;
    this.onExpire();
  }

  remainingMs(): number {
    return Math.max(0, this.endsAt - this.now());
  }

  /** Settles like `p`, or rejects with DeadlineExceeded when the deadline passes first. */
  async bound<T>(p: Promise<T>, what: string): Promise<T> {
    let t: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new DeadlineExceeded(what)), this.remainingMs());
    });
    try {
      return await Promise.race([p, expired]);
    } finally {
      clearTimeout(t);
    }
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
