/**
 * The TokenChunk stream of one request on duet.tokens.<requestId>: `seq` from 0 with no gaps,
 * every generated token (the first one included), and exactly one final chunk carrying the
 * finish reason and Usage — or FINISH_REASON_ERROR with a WireError. Nothing follows the final chunk.
 */
import { FinishReason, wire, type Subjects, type TokenChunkSchema } from '@duet/core';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { SampledToken } from '@duet/engine';
import type { NatsConnection } from 'nats';
import type { WorkerMetrics } from './metrics.ts';
import { errorToWire, tokenToWire } from './wire-map.ts';

export interface UsageCounts {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
}

export class TokenStream {
  private seq = 0;
  private lastTokenAt: number | null = null;
  private ended = false;
  /** Tokens streamed (not counting those the request arrived with). */
  streamed = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly requestId: string,
    private readonly workerId: string,
    private readonly metrics: WorkerMetrics,
    /** performance.now() at request arrival, for TTFT. */
    private readonly arrivedAt: number,
  ) {}

  get finished(): boolean {
    return this.ended;
  }

  tokens(tokens: readonly SampledToken[]): void {
    if (this.ended || tokens.length === 0) return;
    const now = performance.now();
    if (this.lastTokenAt === null) this.metrics.ttft.observe((now - this.arrivedAt) / 1000);
    else this.metrics.interTokenLatency.observe((now - this.lastTokenAt) / 1000 / tokens.length);
    this.lastTokenAt = now;
    this.streamed += tokens.length;
    this.publish({ tokens: tokens.map(tokenToWire) });
  }

  finish(reason: FinishReason, usage: UsageCounts): void {
    if (this.ended) return;
    this.ended = true;
    this.publish({ finishReason: reason, usage });
  }

  fail(err: unknown, usage?: UsageCounts): void {
    if (this.ended) return;
    this.ended = true;
    this.publish({ finishReason: FinishReason.ERROR, error: errorToWire(err), ...(usage ? { usage } : {}) });
  }

  private publish(fields: MessageInitShape<typeof TokenChunkSchema>): void {
    if (this.nc.isClosed()) return;
    this.nc.publish(this.subjects.tokens(this.requestId), wire.tokenChunk.encode({ ...fields, requestId: this.requestId, seq: this.seq++, workerId: this.workerId }));
  }
}
