/**
 * Request lifecycle events for the routers (duet.requests.events.<workerId>): PREFILL_DONE (with
 * the prompt's expert histogram and block hashes on a MoE model), FINISHED and REJECTED. Routers
 * release their in-flight accounting on them and learn expert profiles by prefix. Events are
 * batched per tick (one publish per event-loop turn at most) to bound the message rate.
 */
import { RequestPhase, wire, type Logger, type Subjects } from '@duet/core';
import { hashPromptBlocks } from '@duet/engine';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { ExpertLayerLoadSchema, RequestEventSchema } from '@duet/core';
import type { NatsConnection } from 'nats';

type EventInit = MessageInitShape<typeof RequestEventSchema>;

export class RequestEventPublisher {
  private pending: EventInit[] = [];
  private scheduled = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly workerId: string,
    private readonly blockSize: number,
    private readonly logger: Logger,
  ) {}

  prefillDone(requestId: string, promptIds: readonly number[], salt: string, histogram: ReadonlyArray<MessageInitShape<typeof ExpertLayerLoadSchema>>): void {
    const withProfile = histogram.length > 0;
    this.push({
      requestId,
      phase: RequestPhase.PREFILL_DONE,
      promptTokens: promptIds.length,
      expertHistogram: [...histogram],
      blockHashes: withProfile ? hashPromptBlocks([...promptIds], this.blockSize, salt) : [],
    });
  }

  finished(requestId: string, promptTokens: number, generatedTokens: number): void {
    this.push({ requestId, phase: RequestPhase.FINISHED, promptTokens, generatedTokens });
  }

  rejected(requestId: string): void {
    if (requestId) this.push({ requestId, phase: RequestPhase.REJECTED });
  }

  /** Publishes what is pending now (stop). */
  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const events = this.pending;
    this.pending = [];
    try {
      if (!this.nc.isClosed()) this.nc.publish(this.subjects.requestEvents(this.workerId), wire.requestEventBatch.encode({ workerId: this.workerId, events }));
    } catch (err) {
      this.logger.warn({ err, events: events.length }, 'request events not published');
    }
  }

  private push(e: EventInit): void {
    this.pending.push({ ...e, workerId: this.workerId, sentAtUnixMs: BigInt(Date.now()) });
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }
}
