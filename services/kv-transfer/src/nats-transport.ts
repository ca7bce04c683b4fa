/**
 * The default transport: chunks travel on the transfer's NATS data subject, credits and control
 * on its credit and ctl subjects (docs/wire.md, "KV transfer framing").
 */
import { KvTransportKind, wire, type KvTransferOffer, type Subjects } from '@duet/core';
import type { NatsConnection } from 'nats';
import { joinParts } from './chunking.ts';
import { resolveOptions, type KvTransferOptions, type KvTransferOptionsInput } from './options.ts';
import type { ChunkChannel, SessionDeps } from './protocol.ts';
import { ReceiverSession, type AttachData } from './receiver.ts';
import { SenderSession } from './sender.ts';
import type { AcceptedTransfer, KvSink, KvSource, KvTransport, TransferResult } from './types.ts';

/** Publishing never blocks: the credit window is what bounds the bytes in flight. */
function natsChannel(nc: NatsConnection, subject: string): ChunkChannel {
  return {
    write: (chunk) => {
      nc.publish(subject, joinParts(chunk));
      return true;
    },
    onDrain: (cb) => queueMicrotask(cb),
    close: () => undefined,
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

  constructor(nc: NatsConnection, subjects: Subjects, options: KvTransferOptionsInput = {}) {
    this.options = resolveOptions(options);
    this.deps = { nc, subjects, options: this.options };
  }

  send(receiverWorkerId: string, offer: KvTransferOffer, source: KvSource, signal?: AbortSignal): Promise<TransferResult> {
    const o = offerFor(offer, this.kind, this.options);
    const data = this.deps.subjects.kvxData(o.transferId);
    const session = new SenderSession(this.deps, o, source, () => Promise.resolve(natsChannel(this.deps.nc, data)));
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
