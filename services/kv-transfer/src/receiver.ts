/**
 * Receiver side of one transfer, for either transport (README.md, "Protocol"):
 *
 *   accept (sink.begin → cached_tokens, initial credits = creditWindow)
 *     ──chunks: seq == expected, checksum ok → sink.write → re-grant credit every window/4 imported──▶
 *     complete{total, first token} and imported == total → sink.finish, ack (credit 0) ──▶ ok
 *   gap, checksum mismatch, sink error, deadline, cancel, sender abort ──▶ sink.abort (frees blocks) ──▶ failure
 *
 * Chunks are imported one at a time in arrival order; `arrived − imported` never exceeds the
 * window because the sender only sends with credit (maxInFlightChunks reports the peak).
 */
import { wire, type KvChunk, type KvTransferOffer } from '@duet/core';
import type { Msg, Subscription } from 'nats';
import { Deadline } from './deadline.ts';
import { sliceOf } from './chunking.ts';
import { sharedHasher } from './kv-hash.ts';
import { budgetMsOf, failure, messageOf, publishAbort, reasonOf, tokenFloatsOf, type SessionDeps } from './protocol.ts';
import type { AcceptedTransfer, FirstToken, KvSink, TransferFailureReason, TransferResult } from './types.ts';

/** Connects the session to where chunks arrive; returns the detach function. */
export type AttachData = (onChunk: (chunk: KvChunk) => void, onError: (err: unknown) => void) => () => void;

export class ReceiverSession {
  private readonly tokenFloats: number;
  private readonly grantBatch: number;
  private readonly pending: KvChunk[] = [];
  private draining = false;
  private expectedSeq = 0;
  private arrived = 0;
  private imported = 0;
  private ungranted = 0;
  private bytes = 0;
  private maxInFlight = 0;
  private total: number | null = null;
  private firstToken: FirstToken | null = null;
  private settled = false;
  private readonly started = performance.now();
  private deadline: Deadline | null = null;
  private sub: Subscription | null = null;
  private detach: (() => void) | null = null;
  private resolve!: (r: TransferResult) => void;
  private readonly result = new Promise<TransferResult>((r) => (this.resolve = r));

  constructor(
    private readonly deps: SessionDeps,
    private readonly offer: KvTransferOffer,
    private readonly sink: KvSink,
  ) {
    this.tokenFloats = tokenFloatsOf(offer);
    this.grantBatch = Math.max(1, Math.floor(deps.options.creditWindow / 4));
  }

  /** Reserves room in the sink and starts listening; throws (nothing held) when the sink refuses. */
  async open(attach: AttachData, tcpAddress: string, signal?: AbortSignal): Promise<AcceptedTransfer> {
    const { cachedTokens } = await this.sink.begin(this.offer);
    this.deadline = new Deadline(budgetMsOf(this.offer, this.deps.options), () => this.fail('deadline', 'transfer deadline passed'));
    this.sub = this.deps.nc.subscribe(this.deps.subjects.kvxCtl(this.offer.transferId), { callback: (err, msg) => this.onCtl(err, msg) });
    this.detach = attach(
      (chunk) => this.onChunk(chunk),
      (err) => this.fail('peer-failed', `data channel: ${messageOf(err)}`),
    );
    const onAbort = (): void => this.fail('cancelled', 'cancelled by the receiver');
    signal?.addEventListener('abort', onAbort, { once: true });
    void this.result.then(() => signal?.removeEventListener('abort', onAbort));
    if (signal?.aborted) onAbort();
    const accept = {
      transferId: this.offer.transferId,
      cachedTokens,
      initialCredits: this.deps.options.creditWindow,
      tcpAddress,
    };
    return { accept, result: this.result };
  }

  private onChunk(chunk: KvChunk): void {
    if (this.settled) return;
    this.deadline?.extend();
    this.arrived++;
    this.maxInFlight = Math.max(this.maxInFlight, this.arrived - this.imported);
    this.pending.push(chunk);
    if (!this.draining) void this.drain();
  }

  /** Imports pending chunks in order; never rejects (every error becomes a typed failure). */
  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.pending.length > 0 && !this.settled) {
        const chunk = this.pending.shift()!;
        if (!this.verify(chunk)) return;
        await this.sink.write(sliceOf(chunk, this.tokenFloats));
        this.imported++;
        this.bytes += chunk.payload.byteLength;
        this.grant();
      }
    } catch (err) {
      this.fail('peer-failed', `import failed: ${messageOf(err)}`);
    } finally {
      this.draining = false;
    }
    this.maybeFinish();
  }

  private verify(chunk: KvChunk): boolean {
    if (chunk.seq !== this.expectedSeq) {
      this.fail('gap', `expected chunk ${this.expectedSeq}, got ${chunk.seq}`);
      return false;
    }
    if (sharedHasher().hashParts([chunk.payload]) !== chunk.checksum) {
      this.fail('checksum', `chunk ${chunk.seq} (layer ${chunk.layer}, tokens ${chunk.tokenStart}…${chunk.tokenEnd}) failed its checksum`);
      return false;
    }
    this.expectedSeq++;
    return true;
  }

  private grant(): void {
    if (++this.ungranted < this.grantBatch) return;
    this.publishCredit(this.ungranted);
    this.ungranted = 0;
  }

  private publishCredit(credits: number): void {
    const body = wire.kvCredit.encode({ transferId: this.offer.transferId, credits, receivedSeq: Math.max(0, this.imported - 1) });
    this.deps.nc.publish(this.deps.subjects.kvxCredit(this.offer.transferId), body);
  }

  private onCtl(err: Error | null, msg: Msg): void {
    if (err || this.settled) return;
    const m = wire.kvTransferControl.decode(msg.data).msg;
    if (m.case === 'abort') {
      this.sink.abort();
      this.settle(failure(reasonOf(m.value.reason), m.value.message));
    } else if (m.case === 'complete') {
      this.total = m.value.totalChunks;
      const t = m.value.firstToken;
      this.firstToken = {
        tokenId: t?.tokenId ?? 0,
        ...(t?.logprob !== undefined ? { logprob: t.logprob } : {}),
        ...(t?.topLogprobs.length ? { topLogprobs: t.topLogprobs.map((a) => ({ tokenId: a.tokenId, logprob: a.logprob })) } : {}),
      };
      this.maybeFinish();
    }
  }

  /** All chunks the completion announced are imported: hand over to the sink and ack (credit 0). */
  private maybeFinish(): void {
    if (this.settled || this.draining || this.total === null || this.imported < this.total || !this.firstToken) return;
    try {
      this.sink.finish(this.firstToken);
    } catch (err) {
      return this.fail('peer-failed', `finishing the import failed: ${messageOf(err)}`);
    }
    this.publishCredit(0);
    const seconds = (performance.now() - this.started) / 1000;
    this.settle({ ok: true, bytes: this.bytes, chunks: this.imported, seconds, maxInFlightChunks: this.maxInFlight, firstToken: this.firstToken });
  }

  private fail(reason: TransferFailureReason, message: string): void {
    if (this.settled) return;
    const f = failure(reason, message);
    publishAbort(this.deps, this.offer.transferId, f, 'receiver');
    this.sink.abort();
    this.settle(f);
  }

  private settle(r: TransferResult): void {
    if (this.settled) return;
    this.settled = true;
    this.deadline?.clear();
    this.sub?.unsubscribe();
    this.detach?.();
    this.pending.length = 0;
    this.resolve(r);
  }
}
