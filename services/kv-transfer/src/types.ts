/**
 * The transfer contract both transports satisfy (see README.md for the protocol state machine).
 *
 * Dimensions: T tokens · K kv heads · D head dim. A slice's `k` and `v` are each [T, K, D] f32,
 * row-major, for prompt positions tokenStart … tokenEnd−1 of one layer.
 */
import type { KvTransferOffer, KvTransportKind } from '@duet/core';

/** One layer's K/V for a contiguous run of whole tokens. */
export interface KvSlice {
  layer: number;
  tokenStart: number;
  tokenEnd: number;
  /** [T, K, D] */
  k: Float32Array;
  /** [T, K, D] */
  v: Float32Array;
}

/** The first generated token, as it travels in KvTransferComplete. */
/** The token sampled from the last prompt position (GeneratedToken on the wire). */
export interface FirstToken {
  tokenId: number;
  /** Present exactly when logprobs were requested. */
  logprob?: number;
  topLogprobs?: Array<{ tokenId: number; logprob: number }>;
}

/**
 * Sender side: the KV of one request, produced layer by layer. `stream` delivers every slice of
 * positions ≥ fromToken to `emit` as soon as it is ready — synchronously from the producer (e.g.
 * the engine's onLayerStored hook), so a layer can leave while later layers still compute — and
 * resolves with the first token once everything was delivered. `release` frees the held KV; the
 * transport calls it exactly once, whatever the outcome.
 */
export interface KvSource {
  stream(fromToken: number, emit: (slice: KvSlice) => void): Promise<FirstToken>;
  release(): void;
}

/**
 * Receiver side: where imported KV goes. `begin` reserves room and reports the leading prompt
 * tokens already held (only positions from there on are sent); `write` may be async (a slow
 * consumer: the credit window bounds what is in flight); exactly one of `finish` / `abort` ends it.
 */
export interface KvSink {
  begin(offer: KvTransferOffer): { cachedTokens: number } | Promise<{ cachedTokens: number }>;
  write(slice: KvSlice): void | Promise<void>;
  finish(firstToken: FirstToken): void;
  abort(): void;
}

export type TransferFailureReason = 'deadline' | 'checksum' | 'gap' | 'cancelled' | 'peer-failed';

export interface TransferSuccess {
  ok: true;
  /** Payload bytes moved (K and V of the positions the receiver lacked). */
  bytes: number;
  chunks: number;
  seconds: number;
  /** Receiver only: the most chunks that had arrived but were not yet imported at any moment. */
  maxInFlightChunks?: number;
  /** Receiver only: the first generated token carried by the completion message. */
  firstToken?: FirstToken;
}

export interface TransferFailure {
  ok: false;
  reason: TransferFailureReason;
  message: string;
}

/** Never thrown: every transfer ends in one of these, within its deadline. */
export type TransferResult = TransferSuccess | TransferFailure;

/** What `accept` hands back: the reply to send to the offer, and the transfer's eventual outcome. */
export interface AcceptedTransfer {
  /** The fields of KvTransferAccept (receiver_worker_id is the offer server's to fill). */
  accept: { transferId: string; cachedTokens: number; initialCredits: number; tcpAddress: string };
  result: Promise<TransferResult>;
}

export interface KvTransport {
  readonly kind: KvTransportKind;
  /** Offers `source`'s KV to worker `receiverWorkerId` and streams it; resolves when the receiver has imported all of it or the transfer failed. */
  send(receiverWorkerId: string, offer: KvTransferOffer, source: KvSource, signal?: AbortSignal): Promise<TransferResult>;
  /** Prepares to receive `offer` into `sink`; the caller replies to the offer with `accept`. */
  accept(offer: KvTransferOffer, sink: KvSink, signal?: AbortSignal): Promise<AcceptedTransfer>;
  close(): Promise<void>;
}
