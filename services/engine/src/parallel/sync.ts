/**
 * Waiting on a shared Int32Array counter, with adaptive spinning.
 *
 * A thread that sleeps in Atomics.wait pays a wake-up when its peer signals; on a VM whose idle vCPU
 * halts that costs tens to hundreds of µs, as much as a whole decode phase. Spinning avoids it, but
 * on a shared machine a spinning thread burns the core its descheduled peer needs (llama.cpp's
 * spin-barriers collapse that way under load). So each Waiter spins up to a budget that adapts like
 * an adaptive mutex's: a wait that ends while spinning raises the budget (up to SPIN_MAX_MS), one
 * that has to go to sleep halves it (down to SPIN_MIN_MS). On an idle machine peers answer within
 * the spin; under contention the budget quickly falls to a few µs and threads sleep.
 */

/** Spin budget bounds (ms). */
export const SPIN_MAX_MS = 1;
export const SPIN_MIN_MS = 0.005;
/** Sleep slice; between slices `check` runs (it may throw to end the wait). */
const SLICE_MS = 50;

export function signal(ctl: Int32Array, index: number, value: number): void {
  Atomics.store(ctl, index, value);
  Atomics.notify(ctl, index);
}

export class Waiter {
  /** Current spin budget (ms). */
  budgetMs = SPIN_MAX_MS;

  /**
   * Returns once ctl[index] ≥ target. Throws a RangeError after `timeoutMs` without it, or whatever
   * `check` throws between sleep slices.
   */
  wait(ctl: Int32Array, index: number, target: number, timeoutMs: number, check: () => void = () => {}): void {
    const t0 = performance.now();
    while (performance.now() - t0 < this.budgetMs) {
      if (Atomics.load(ctl, index) >= target) {
        this.budgetMs = Math.min(SPIN_MAX_MS, this.budgetMs * 1.25 + SPIN_MIN_MS);
        return;
      }
    }
    this.budgetMs = Math.max(SPIN_MIN_MS, this.budgetMs / 2);
    const deadline = t0 + timeoutMs;
    for (;;) {
      const now = Atomics.load(ctl, index);
      if (now >= target) return;
      check();
      if (performance.now() > deadline) throw new RangeError(`no answer within ${timeoutMs} ms (waiting for ${target}, at ${now})`);
      Atomics.wait(ctl, index, now, SLICE_MS);
    }
  }
}
