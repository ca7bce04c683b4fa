/**
 * One way to connect to NATS and to make a typed request: every service uses these, so timeouts,
 * reconnects and trace headers behave the same everywhere.
 */
import { connect, type MsgHdrs, type NatsConnection } from 'nats';
import type { DescMessage, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import type { WireCodec } from '../codec.ts';

export interface NatsOptions {
  url: string;
  /** Connection name shown by the server (component and worker id). */
  name: string;
}

export async function connectNats(opts: NatsOptions): Promise<NatsConnection> {
  return connect({ servers: opts.url, name: opts.name, maxReconnectAttempts: -1, reconnectTimeWait: 250, pingInterval: 5000 });
}

/** Encodes `msg`, sends a request, decodes the reply with `replyCodec`. Rejects on timeout/no responders. */
export async function requestTyped<Req extends DescMessage, Res extends DescMessage>(
  nc: NatsConnection,
  subject: string,
  reqCodec: WireCodec<Req>,
  msg: MessageInitShape<Req>,
  replyCodec: WireCodec<Res>,
  opts: { timeoutMs: number; headers?: MsgHdrs },
): Promise<MessageShape<Res>> {
  const reply = await nc.request(subject, reqCodec.encode(msg), { timeout: opts.timeoutMs, headers: opts.headers });
  return replyCodec.decode(reply.data);
}
