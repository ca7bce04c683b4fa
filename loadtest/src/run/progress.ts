/**
 * Live progress on stderr: requests done / total, errors, the current completion rate (last 10 s)
 * and the running median TTFT. On a terminal it is one bar redrawn in place 5 times a second;
 * otherwise (a log file, CI) a plain line every 5 s, so logs stay readable.
 */
import { percentile, ttftOf } from '../metrics.ts';
import type { RequestTiming } from './timing.ts';

export interface ProgressOut {
  write(s: string): unknown;
  isTTY?: boolean;
}

export interface ProgressOptions {
  total: number;
  out: ProgressOut;
  now(): number;
  /** Redraw period; default 200 ms on a terminal, 5000 ms otherwise. */
  intervalMs?: number;
  label?: string;
}

const RATE_WINDOW_MS = 10_000;
const BAR = 24;

export class Progress {
  private done = 0;
  private errors = 0;
  private readonly ends: number[] = [];
  private readonly ttfts: number[] = [];
  private readonly t0: number;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: ProgressOptions) {
    this.t0 = o.now();
  }

  get tty(): boolean {
    return this.o.out.isTTY === true;
  }

  record(t: RequestTiming): void {
    this.done++;
    if (t.error !== null) this.errors++;
    this.ends.push(this.o.now());
    const f = ttftOf(t);
    if (t.error === null && f !== null) {
      // Keep ttfts sorted: insertion is O(n) but runs once per request.
      let i = this.ttfts.length;
      while (i > 0 && this.ttfts[i - 1] > f) i--;
      this.ttfts.splice(i, 0, f);
    }
  }

  /** Completions per second over the last 10 s (or since the start, when shorter). */
  rate(): number {
    const now = this.o.now();
    while (this.ends.length > 0 && this.ends[0] < now - RATE_WINDOW_MS) this.ends.shift();
    const span = Math.min(RATE_WINDOW_MS, now - this.t0) / 1000;
    return span > 0 ? this.ends.length / span : 0;
  }

  line(): string {
    const p50 = percentile(this.ttfts, 50);
    const parts = [
      `${this.done}/${this.o.total} done`,
      `${this.errors} error${this.errors === 1 ? '' : 's'}`,
      `${this.rate().toFixed(1)} req/s`,
      `p50 TTFT ${p50 === null ? '–' : `${Math.round(p50)} ms`}`,
    ];
    if (!this.tty) return `${this.o.label ?? 'loadtest'}: ${parts.join(', ')}`;
    const filled = this.o.total > 0 ? Math.round((BAR * this.done) / this.o.total) : 0;
    return `[${'█'.repeat(filled)}${'░'.repeat(BAR - filled)}] ${parts.join(' · ')}`;
  }

  render(): void {
    this.o.out.write(this.tty ? `\r\x1b[K${this.line()}` : `${this.line()}\n`);
  }

  start(): void {
    this.timer = setInterval(() => this.render(), this.o.intervalMs ?? (this.tty ? 200 : 5000));
    this.timer.unref();
  }

  /** Stops redrawing and writes the final state (ending the terminal line). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.render();
    if (this.tty) this.o.out.write('\n');
  }
}
