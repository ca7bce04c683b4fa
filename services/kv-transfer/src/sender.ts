/**
 * Sender side of one transfer, for either transport (README.md, "Protocol"):
 *
 *   OFFERING ──accept──▶ STREAMING ──source done, queue empty──▶ COMPLETING ──ack──▶ done (ok)
 *      │ reject / no reply     │ abort from receiver, deadline, cancel      │
 *      └───────────────────────┴──────────────────────────────────────────┴──▶ done (failure)
 *
 * Slices from the source queue up and are cut into chunks only when a credit is available, so
 * at most `credits` chunks are ever outstanding. Everything after `run` starts is bounded by the
 * deadline; the source is released exactly once on every path.
 */
import { tokensPerChunk, wire, type KvTransferAccept, type KvTransferOffer } from '@duet/core';
import type { Msg, Subscription } from 'nats';
import { Deadline } from './deadline.ts';
import { draftChunk, trimSlice } from './chunking.ts';
import { budgetMsOf, failure, messageOf, publishAbort, reasonOf, tokenFloatsOf, type ChunkChannel, type SessionDeps } from './protocol.ts';
import type { FirstToken, KvSlice, KvSource, TransferFailureReason, TransferResult } from './types.ts';

export type OpenChannel = (accept: KvTransferAccept, deadline: Deadline) => Promise<ChunkChannel>;

export class SenderSession {
  private readonly tokenFloats: number;
  private readonly tokensPerChunk: number;
  private readonly queue: KvSlice[] = [];
  private cursor = -1;
  private credits = 0;
  private seq = 0;
  private bytes = 0;
  private from = 0;
  private firstToken: FirstToken | null = null;
  private completeSent = false;
  private paused = false;
  private channel: ChunkChannel | null = null;
  private subs: Subscription[] = [];
  private settled = false;
  private resolve!: (r: TransferResult) => void;
  private readonly result = new Promise<TransferResult>((r) => (this.resolve = r));
  private readonly started = performance.now();
  private deadline!: Deadline;

  constructor(
    private readonly deps: SessionDeps,
    private readonly offer: KvTransferOffer,
    private readonly source: KvSource,
    private readonly openChannel: OpenChannel,
  ) {
    this.tokenFloats = tokenFloatsOf(offer);
    this.tokensPerChunk = tokensPerChunk(2 * this.tokenFloats * 4, deps.options.chunkBytes);
  }

  async run(receiverWorkerId: string, signal?: AbortSignal): Promise<TransferResult> {
    this.deadline = new Deadline(budgetMsOf(this.offer, this.deps.options), () => this.fail('deadline', 'transfer deadline passed'));
    const onAbort = (): void => this.fail('cancelled', 'cancelled by the sender');
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    await this.negotiate(receiverWorkerId).catch((err: unknown) => this.fail(this.reasonFor(err), messageOf(err)));
    const r = await this.result;
    signal?.removeEventListener('abort', onAbort);
    return r;
  }

  /** 1. subscribe to credit and ctl, 2. offer, 3. open the channel, 4. start streaming. */
  private async negotiate(receiverWorkerId: string): Promise<void> {
    const { nc, subjects } = this.deps;
    const s = subjects.transfer(this.offer.transferId);
    this.subs.push(nc.subscribe(s.credit, { callback: (err, msg) => this.onCredit(err, msg) }));
    this.subs.push(nc.subscribe(s.ctl, { callback: (err, msg) => this.onCtl(err, msg) }));
    const reply = await this.deadline.bound(
      nc.request(subjects.kvOffer(receiverWorkerId), wire.kvTransferOffer.encode(this.offer), { timeout: Math.max(1, this.deadline.remainingMs()) }),
      'waiting for the offer reply',
    );
    const r = wire.kvTransferReply.decode(reply.data).result;
    if (r.case !== 'accept') throw new Error(`offer rejected: ${r.case === 'reject' ? r.value.error?.message : 'empty reply'}`);
    if (this.settled) return;
    const channel = await this.deadline.bound(this.openChannel(r.value, this.deadline), 'opening the chunk channel');
    if (this.settled) return channel.close();
    this.channel = channel;
    this.credits = r.value.initialCredits;
    this.from = r.value.cachedTokens;
    this.source.stream(this.from, (slice) => this.enqueue(slice)).then(
      (first) => {
        this.firstToken = first;
        this.pump();
      },
      (err: unknown) => this.fail('cancelled', `source failed: ${messageOf(err)}`),
    );
  }

  private reasonFor(err: unknown): TransferFailureReason {
    return err instanceof Error && err.name === 'DeadlineExceeded' ? 'deadline' : 'peer-failed';
  }

  private enqueue(slice: KvSlice): void {
    const s = trimSlice(slice, this.from, this.tokenFloats);
    if (!s || this.settled) return;
    this.deadline.extend(); // a layer became ready: the transfer is moving
    this.queue.push(s);
    this.pump();
  }

  /** Sends while credit lasts and the channel takes bytes; sends the completion once all is out. */
  private pump(): void {
    while (!this.settled && !this.paused && this.channel && this.credits > 0 && this.queue.length > 0) {
      const more = this.sendNext(this.channel);
      if (!more) this.pauseUntil((resume) => this.channel?.onDrain(resume));
      else if (this.deps.options.faults.delayMs) this.pauseUntil((resume) => setTimeout(resume, this.deps.options.faults.delayMs));
    }
    if (!this.settled && this.channel && this.queue.length === 0 && this.firstToken && !this.completeSent) this.sendComplete(this.firstToken);
  }

  private pauseUntil(arm: (resume: () => void) => void): void {
    this.paused = true;
    arm(() => {
      this.paused = false;
      this.pump();
    });
  }

  /** Cuts the next chunk off the queue head and writes it; false when the channel is full. */
  private sendNext(channel: ChunkChannel): boolean {
    const head = this.queue[0];
    const a = this.cursor >= 0 ? this.cursor : head.tokenStart;
    const b = Math.min(a + this.tokensPerChunk, head.tokenEnd);
    const seq = this.seq++;
    const faults = this.deps.options.faults;
    const header = { transferId: this.offer.transferId, seq, layer: head.layer, tokenStart: a, tokenEnd: b };
    const draft = draftChunk(header, head, this.tokenFloats, faults.corruptChunk?.(seq));
    this.credits--;
    this.deadline.extend();
    this.bytes += draft.payloadBytes;
    this.cursor = b < head.tokenEnd ? b : -1;
    if (this.cursor < 0) this.queue.shift();
    if (faults.dropChunk?.(seq)) return true;
    const more = channel.write(draft);
    this.deps.options.observer.chunkSent?.(seq, head.layer);
    return more;
  }

  private sendComplete(firstToken: FirstToken): void {
    this.completeSent = true;
    const body = wire.kvTransferControl.encode({
      transferId: this.offer.transferId,
      msg: { case: 'complete', value: { totalChunks: this.seq, totalBytes: BigInt(this.bytes), firstToken } },
    });
    this.deps.nc.publish(this.deps.subjects.kvxCtl(this.offer.transferId), body);
  }

  /** credits > 0: more window; credits = 0: the receiver imported everything (the final ack). */
  private onCredit(err: Error | null, msg: Msg): void {
    if (err || this.settled) return;
    const c = wire.kvCredit.decode(msg.data);
    if (c.credits > 0 || this.completeSent) this.channel?.acked(c.receivedSeq);
    if (c.credits > 0) {
      this.credits += c.credits;
      this.pump();
    } else if (this.completeSent) {
      this.settle({ ok: true, bytes: this.bytes, chunks: this.seq, seconds: (performance.now() - this.started) / 1000 });
    }
  }

  /** Only the receiver's aborts matter here (our own messages echo back and are ignored). */
  private onCtl(err: Error | null, msg: Msg): void {
    if (err || this.settled) return;
    const m = wire.kvTransferControl.decode(msg.data).msg;
    if (m.case === 'abort') this.settle(failure(reasonOf(m.value.reason), m.value.message));
  }

  private fail(reason: TransferFailureReason, message: string): void {
    if (this.settled) return;
    const f = failure(reason, message);
    publishAbort(this.deps, this.offer.transferId, f, 'sender');
    this.settle(f);
  }

  private settle(r: TransferResult): void {
    if (this.settled) return;
    this.settled = true;
    this.deadline.clear();
    for (const s of this.subs) s.unsubscribe();
    this.channel?.close();
    this.queue.length = 0;
    this.source.release();
    this.resolve(r);
  }
}
