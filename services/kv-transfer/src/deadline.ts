/** A transfer's deadline: relative milliseconds from when each side starts (no shared clock). */

export class DeadlineExceeded extends Error {
  constructor(what: string) {
    super(`deadline passed while ${what}`);
    this.name = 'DeadlineExceeded';
  }
}

export class Deadline {
  private readonly endsAt: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly budgetMs: number, onExpire: () => void) {
    this.endsAt = performance.now() + budgetMs;
    this.timer = setTimeout(onExpire, budgetMs);
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
