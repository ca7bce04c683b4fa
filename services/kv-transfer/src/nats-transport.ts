/**
 * The default transport: chunks travel on the transfer's NATS data subject, credits and control
 * on its credit and ctl subjects (docs/wire.md, "KV transfer framing").
 */
import { KvTransportKind, wire, type KvTransferOffer, type Subjects } from '@duet/core';
import type { NatsConnection } from 'nats';
import { encodeChunkInto } from './chunking.ts';
import { InFlightMessages, MessagePool } from './message-pool.ts';
import { CHUNK_OVERHEAD_BYTES, resolveOptions, type KvTransferOptions, type KvTransferOptionsInput } from './options.ts';
import type { ChunkChannel, SessionDeps } from './protocol.ts';
import { ReceiverSession, type AttachData } from './receiver.ts';
import { SenderSession } from './sender.ts';
import type { AcceptedTransfer, KvSink, KvSource, KvTransport, TransferResult } from './types.ts';

/**
 * Publishing never blocks: the credit window is what bounds the bytes in flight. Each chunk is
 * written into a pooled slot (and checksummed there), which goes back to the pool once the
 * receiver acknowledged it (message-pool.ts).
 */
function natsChannel(nc: NatsConnection, subject: string, pool: MessagePool, maxBytes: number): ChunkChannel {
  const inFlight = new InFlightMessages(pool);
  return {
    write: (draft) => {
      const slot = pool.take(draft.payloadBytes + CHUNK_OVERHEAD_BYTES);
      let msg: Uint8Array;
      try {
        msg = encodeChunkInto(draft, slot.bytes, (from, n) => slot.hash(from, n), maxBytes);
      } catch (err) {
        pool.give(slot);
        throw err;
      }
      nc.publish(subject, msg);
      inFlight.add(draft.header.seq, slot);
      return true;
    },
    onDrain: (cb) => queueMicrotask(cb),
    acked: (upToSeq) => inFlight.acked(upToSeq),
    close: () => inFlight.abandon(),
  };
}

function natsAttach(nc: NatsConnection, subject: string): AttachData {
  return (onChunk, onError) => {
    const sub = nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return onError(err);
        try {
          onChunk(wire.kvChunk.decode(msg.data));
        } catch (e) {
          onError(e);
        }
      },
    });
    return () => sub.unsubscribe();
  };
}

/** Fills what the transport owns in an offer: its kind, the chunk budget and a deadline. */
export function offerFor(offer: KvTransferOffer, kind: KvTransportKind, options: KvTransferOptions): KvTransferOffer {
  return {
    ...offer,
    transport: kind,
    maxChunkBytes: options.chunkBytes,
    timeoutMs: offer.timeoutMs > 0 ? offer.timeoutMs : options.deadlineMs,
  };
}

export class NatsKvTransport implements KvTransport {
  readonly kind = KvTransportKind.NATS;
  readonly options: KvTransferOptions;
  private readonly deps: SessionDeps;
  /** Chunk message slots shared by this transport's sends: at most one window's worth. */
  private readonly pool: MessagePool;

  constructor(nc: NatsConnection, subjects: Subjects, options: KvTransferOptionsInput = {}) {
    this.options = resolveOptions(options);
    this.deps = { nc, subjects, options: this.options };
    this.pool = new MessagePool(this.options.chunkBytes + CHUNK_OVERHEAD_BYTES, this.options.creditWindow);
  }

  /** The message slots this transport's sends write chunks into (tests, metrics). */
  get messagePool(): { readonly freeCount: number; readonly createdCount: number; readonly maxSlots: number } {
    return this.pool;
  }

  send(receiverWorkerId: string, offer: KvTransferOffer, source: KvSource, signal?: AbortSignal): Promise<TransferResult> {
    const o = offerFor(offer, this.kind, this.options);
    const data = this.deps.subjects.kvxData(o.transferId);
    const session = new SenderSession(this.deps, o, source, () => Promise.resolve(natsChannel(this.deps.nc, data, this.pool, this.options.maxPayloadBytes)));
    return session.run(receiverWorkerId, signal);
  }

  accept(offer: KvTransferOffer, sink: KvSink, signal?: AbortSignal): Promise<AcceptedTransfer> {
    const session = new ReceiverSession(this.deps, offer, sink);
    return session.open(natsAttach(this.deps.nc, this.deps.subjects.kvxData(offer.transferId)), '', signal);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
