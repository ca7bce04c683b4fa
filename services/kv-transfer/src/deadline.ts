/**
 * A transfer's deadline: relative milliseconds (no shared clock), measured from the last progress.
 * Each side calls `extend()` whenever the transfer moves (a layer becomes ready, a chunk leaves or
 * arrives), so a long prefill whose layers stream out over many seconds is not cut off, while a
 * transfer that stops moving for `budgetMs` — a dead peer, a lost chunk, a stuck source — fails.
 */

export class DeadlineExceeded extends Error {
  constructor(what: string) {
    super(`deadline passed while ${what}`);
    this.name = 'DeadlineExceeded';
  }
}

export class Deadline {
  private endsAt: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly budgetMs: number,
    private readonly onExpire: () => void,
  ) {
    this.endsAt = performance.now() + budgetMs;
    this.timer = setTimeout(onExpire, budgetMs);
  }

  /** Progress: the deadline is again `budgetMs` away (a no-op once cleared). */
  extend(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.endsAt = performance.now() + this.budgetMs;
    this.timer = setTimeout(this.onExpire, this.budgetMs);
  }

  remainingMs(): number {
    return Math.max(0, this.endsAt - performance.now());
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
