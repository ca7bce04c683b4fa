/**
 * Serves a receiving worker's offer subject (duet.decode.<id>.kv-offer): picks the transport the
 * offer names, asks `sinkFor` where the KV goes, replies accept or reject, and reports each
 * transfer's outcome. A decode worker falls back to local prefill on any failure.
 */
import { ErrorCode, KvTransportKind, wire, type KvTransferOffer, type Subjects } from '@duet/core';
import type { Msg, NatsConnection, Subscription } from 'nats';
import { messageOf } from './protocol.ts';
import type { KvSink, KvTransport, TransferResult } from './types.ts';

export interface OfferServerOptions {
  nc: NatsConnection;
  subjects: Subjects;
  workerId: string;
  transports: readonly KvTransport[];
  /** Where an offer's KV goes; throw to reject it (no capacity, unknown request, bad layout). */
  sinkFor: (offer: KvTransferOffer) => KvSink;
  /** Every accepted transfer's outcome (never rejects). */
  onResult?: (offer: KvTransferOffer, result: TransferResult) => void;
}

function reject(msg: Msg, transferId: string, message: string): void {
  const error = { code: ErrorCode.UNAVAILABLE, message };
  msg.respond(wire.kvTransferReply.encode({ result: { case: 'reject', value: { transferId, error } } }));
}

async function handle(o: OfferServerOptions, msg: Msg): Promise<void> {
  const offer = wire.kvTransferOffer.decode(msg.data);
  const kind = offer.transport === KvTransportKind.UNSPECIFIED ? KvTransportKind.NATS : offer.transport;
  const transport = o.transports.find((t) => t.kind === kind);
  if (!transport) return reject(msg, offer.transferId, `transport ${KvTransportKind[kind]} is not served by ${o.workerId}`);
  let accepted;
  try {
    accepted = await transport.accept(offer, o.sinkFor(offer));
  } catch (err) {
    return reject(msg, offer.transferId, messageOf(err));
  }
  msg.respond(wire.kvTransferReply.encode({ result: { case: 'accept', value: { ...accepted.accept, receiverWorkerId: o.workerId } } }));
  const result = await accepted.result;
  o.onResult?.(offer, result);
}

export function serveKvOffers(o: OfferServerOptions): Subscription {
  return o.nc.subscribe(o.subjects.kvOffer(o.workerId), {
    callback: (err, msg) => {
      if (err) return;
      handle(o, msg).catch(() => undefined); // a malformed offer gets no reply: the sender's deadline ends it
    },
  });
}
