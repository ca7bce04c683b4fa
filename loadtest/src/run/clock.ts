/**
 * Time for the runner: the real clock (performance.now, setTimeout) or a virtual one for tests and
 * simulations, where sleeping advances time instantly once everything else has settled.
 */

export interface Clock {
  /** Milliseconds on a monotonic scale. */
  now(): number;
  /** Resolves after `ms` (at once for ms ≤ 0). */
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => (ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms))),
};

/**
 * Discrete-event time: `sleep` parks the caller on a timer queue; `run(task)` lets every pending
 * promise settle (a macrotask turn), then jumps to the earliest timer and wakes it, until the task
 * ends. Timers with equal times wake in the order they were set. Deterministic for a given task.
 */
export class VirtualClock implements Clock {
  private t = 0;
  private seq = 0;
  private timers: Array<{ at: number; seq: number; wake: () => void }> = [];

  now(): number {
    return this.t;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((wake) => {
      this.timers.push({ at: this.t + Math.max(0, ms), seq: this.seq++, wake });
    });
  }

  async run<T>(task: Promise<T>): Promise<T> {
    let done = false;
    const settled = task.finally(() => {
      done = true;
    });
    for (;;) {
      await new Promise((r) => setImmediate(r));
      if (done) return settled;
      if (this.timers.length === 0) {
        await new Promise((r) => setImmediate(r));
        if (done) return settled;
        throw new Error('VirtualClock: the task waits on something other than this clock');
      }
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers.shift()!;
      this.t = next.at;
      next.wake();
    }
  }
}
