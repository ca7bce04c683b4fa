/**
 * Direct TCP transport, negotiated over NATS: the offer/accept, credits and completion/abort go
 * on the transfer's NATS subjects as with NatsKvTransport; only the chunks take the socket, to the
 * `host:port` the receiver put in KvTransferAccept.tcp_address. Flow control is both TCP's
 * (`write` returning false pauses the sender until 'drain') and the same credit window.
 */
import * as net from 'node:net';
import { KvTransportKind, type KvTransferAccept, type KvTransferOffer, type Subjects } from '@duet/core';
import type { NatsConnection } from 'nats';
import type { Deadline } from './deadline.ts';
import { offerFor } from './nats-transport.ts';
import { resolveOptions, type KvTransferOptions, type KvTransferOptionsInput } from './options.ts';
import type { ChunkChannel, SessionDeps } from './protocol.ts';
import { ReceiverSession } from './receiver.ts';
import { SenderSession } from './sender.ts';
import { encodeChunkParts } from './chunking.ts';
import { sharedHasher } from './kv-hash.ts';
import { frameHeader } from './tcp-framing.ts';
import { TcpKvListener } from './tcp-listener.ts';
import type { AcceptedTransfer, KvSink, KvSource, KvTransport, TransferResult } from './types.ts';

export interface TcpKvTransportOptions extends KvTransferOptionsInput {
  /** Interface the receiver listens on and advertises; default 127.0.0.1. */
  listenHost?: string;
}

function parseAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const port = Number(address.slice(i + 1));
  if (i < 1 || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`bad tcp_address ${JSON.stringify(address)}`);
  return { host: address.slice(0, i), port };
}

/** Connects to the receiver; a connect that outlives the deadline is destroyed. */
async function connectChannel(accept: KvTransferAccept, deadline: Deadline, maxBytes: number): Promise<ChunkChannel> {
  const { host, port } = parseAddress(accept.tcpAddress);
  const socket = net.connect({ host, port, noDelay: true });
  try {
    await deadline.bound(
      new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      }),
      `connecting to ${accept.tcpAddress}`,
    );
  } catch (err) {
    socket.destroy();
    throw err;
  }
  socket.on('error', () => undefined); // surfaces as the receiver's abort or the deadline
  return {
    write: (draft) => {
      // Views of the KV go straight to the socket: one kernel copy, as for a raw socket write.
      const chunk = encodeChunkParts(draft, sharedHasher(), maxBytes);
      socket.cork();
      socket.write(frameHeader(chunk.byteLength));
      for (const part of chunk.parts) socket.write(part);
      socket.uncork();
      // Keep a few chunks queued in user space: waiting for a full drain after every chunk would
      // leave the socket idle while the next chunk's checksum is computed (no pipelining).
      return socket.writableLength < SEND_QUEUE_BYTES;
    },
    onDrain: (cb) => socket.once('drain', cb),
    acked: () => undefined, // nothing pooled: the socket writes views of the source KV
    close: () => socket.end(),
  };
}

/** Bytes the sender may queue on the socket before it waits for 'drain'. */
const SEND_QUEUE_BYTES = 8 * 1024 * 1024;

export class TcpKvTransport implements KvTransport {
  readonly kind = KvTransportKind.TCP;
  readonly options: KvTransferOptions;
  private readonly deps: SessionDeps;
  private readonly listener: TcpKvListener;

  /** Starts no I/O: the listener opens on the first `accept` (or `listenAddress`). */
  constructor(nc: NatsConnection, subjects: Subjects, options: TcpKvTransportOptions = {}) {
    this.options = resolveOptions(options);
    this.deps = { nc, subjects, options: this.options };
    this.listener = new TcpKvListener(options.listenHost ?? '127.0.0.1', this.options.maxPayloadBytes);
  }

  /** "host:port" this process receives on (for WorkerInfo.kv_tcp_address). */
  listenAddress(): Promise<string> {
    return this.listener.address();
  }

  send(receiverWorkerId: string, offer: KvTransferOffer, source: KvSource, signal?: AbortSignal): Promise<TransferResult> {
    const maxBytes = this.options.maxPayloadBytes;
    const session = new SenderSession(this.deps, offerFor(offer, this.kind, this.options), source, (accept, deadline) => connectChannel(accept, deadline, maxBytes));
    return session.run(receiverWorkerId, signal);
  }

  async accept(offer: KvTransferOffer, sink: KvSink, signal?: AbortSignal): Promise<AcceptedTransfer> {
    const address = await this.listener.address();
    const session = new ReceiverSession(this.deps, offer, sink);
    return session.open((onChunk, onError) => this.listener.register(offer.transferId, { onChunk, onError }), address, signal);
  }

  close(): Promise<void> {
    return this.listener.close();
  }
}
