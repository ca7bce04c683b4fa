/**
 * SLO signals for the planner, pushed (not scraped): every `intervalMs` the gateway publishes one
 * `SloReport` on `duet.slo.<gatewayId>` over the requests that finished in that window.
 *
 *   begin() ──placed()──▶ tokens … ──end()        one RequestTiming per backend request
 *   queued   = begun, not yet placed               (waiting for the router)
 *   inflight = placed, not yet ended
 *   TTFT     = first token − begin                 (requests that finished normally)
 *   TPOT     = (last token − first token) / (tokens − 1), over requests with ≥ 2 tokens
 *
 * Failed or cancelled requests count in queued/inflight while they last but not in the latency
 * figures. Percentiles are nearest-rank over the window. The clock is injected (tests).
 */
import { wire, type Logger, type SloReport, type Subjects } from '@duet/core';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { SloReportSchema } from '@duet/core';
import type { NatsConnection } from 'nats';
import type { BackendEvent } from './backend/types.ts';

/** Nearest-rank percentile of an ascending array; 0 for an empty one. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

/** Timings of one request; call `end()` exactly once (later calls are ignored). */
export interface RequestTiming {
  placed(): void;
  observe(event: BackendEvent): void;
  end(): void;
}

export class SloWindow {
  private ttfts: number[] = [];
  private tpots: number[] = [];
  private finished = 0;

  record(ttftMs: number, tpotMs: number | null): void {
    this.finished++;
    this.ttfts.push(ttftMs);
    if (tpotMs !== null) this.tpots.push(tpotMs);
  }

  /** The window's figures, then empties it. */
  take(): Pick<SloReport, 'finishedRequests' | 'ttftMeanMs' | 'ttftP90Ms' | 'tpotMeanMs' | 'tpotP90Ms'> {
    const ttft = [...this.ttfts].sort((a, b) => a - b);
    const tpot = [...this.tpots].sort((a, b) => a - b);
    const out = { finishedRequests: this.finished, ttftMeanMs: mean(ttft), ttftP90Ms: percentile(ttft, 0.9), tpotMeanMs: mean(tpot), tpotP90Ms: percentile(tpot, 0.9) };
    this.ttfts = [];
    this.tpots = [];
    this.finished = 0;
    return out;
  }
}

export interface SloReporterOptions {
  gatewayId: string;
  intervalMs: number;
  now?: () => number;
}

export class SloReporter {
  private readonly window = new SloWindow();
  private readonly now: () => number;
  private queued = 0;
  private inflight = 0;
  private seq = 0n;
  private windowStart: number;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: SloReporterOptions) {
    this.now = o.now ?? Date.now;
    this.windowStart = this.now();
  }

  begin(): RequestTiming {
    const t0 = this.now();
    let placed = false;
    let ended = false;
    let first: number | null = null;
    let last = 0;
    let tokens = 0;
    let ok = false;
    this.queued++;
    return {
      placed: () => {
        if (placed || ended) return;
        placed = true;
        this.queued--;
        this.inflight++;
      },
      observe: (e) => {
        if (e.type === 'tokens' && e.tokens.length > 0) {
          last = this.now();
          first ??= last;
          tokens += e.tokens.length;
        } else if (e.type === 'done') ok = true;
      },
      end: () => {
        if (ended) return;
        ended = true;
        if (placed) this.inflight--;
        else this.queued--;
        if (!ok || first === null) return;
        this.window.record(first - t0, tokens >= 2 ? (last - first) / (tokens - 1) : null);
      },
    };
  }

  /** The report for the window that ends now; starts the next window. */
  report(): MessageInitShape<typeof SloReportSchema> {
    const at = this.now();
    const windowMs = Math.max(0, Math.round(at - this.windowStart));
    this.windowStart = at;
    return {
      sourceId: this.o.gatewayId,
      seq: ++this.seq,
      sentAtUnixMs: BigInt(Math.round(at)),
      windowMs,
      ...this.window.take(),
      queuedRequests: this.queued,
      inflightRequests: this.inflight,
    };
  }

  /** Publishes a report every `intervalMs` on `subjects.slo(gatewayId)`. */
  start(nc: NatsConnection, subjects: Subjects, logger: Logger): void {
    const subject = subjects.slo(this.o.gatewayId);
    this.timer ??= setInterval(() => {
      if (nc.isClosed()) return;
      try {
        nc.publish(subject, wire.sloReport.encode(this.report()));
      } catch (err) {
        logger.warn({ err: String(err) }, 'SLO report publish failed; the next interval retries');
      }
    }, this.o.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
