/**
 * Pieces both sides of a transfer share: the chunk channel the bulk bytes travel on, abort reason
 * mapping, and the control messages on the per-transfer NATS subjects (ctl, credit).
 */
import type { ChunkDraft } from './chunking.ts';
import { KvAbortReason, wire, type KvTransferOffer, type Subjects } from '@duet/core';
import type { NatsConnection } from 'nats';
import type { KvTransferOptions } from './options.ts';
import type { TransferFailure, TransferFailureReason } from './types.ts';

/** Where encoded KvChunk messages go: a NATS subject or a TCP socket. */
export interface ChunkChannel {
  /**
   * Encodes (checksum included) and sends one chunk; false asks the sender to wait for `onDrain`
   * (TCP backpressure). Throws PayloadTooLargeError when the encoded chunk exceeds max_payload.
   */
  write(chunk: ChunkDraft): boolean;
  onDrain(cb: () => void): void;
  /** The receiver imported every chunk with seq ≤ upToSeq: their bytes have left this process. */
  acked(upToSeq: number): void;
  /** Ends the channel; chunks not acked by now are abandoned. */
  close(): void;
}

/** Everything a session needs from its transport. */
export interface SessionDeps {
  nc: NatsConnection;
  subjects: Subjects;
  options: KvTransferOptions;
}

export function reasonOf(code: KvAbortReason): TransferFailureReason {
  switch (code) {
    case KvAbortReason.DEADLINE_EXCEEDED:
      return 'deadline';
    case KvAbortReason.CHECKSUM_MISMATCH:
      return 'checksum';
    case KvAbortReason.SEQUENCE_GAP:
      return 'gap';
    case KvAbortReason.CANCELLED:
      return 'cancelled';
    default:
      return 'peer-failed';
  }
}

export function codeOf(reason: TransferFailureReason, side: 'sender' | 'receiver'): KvAbortReason {
  const codes: Record<TransferFailureReason, KvAbortReason> = {
    deadline: KvAbortReason.DEADLINE_EXCEEDED,
    checksum: KvAbortReason.CHECKSUM_MISMATCH,
    gap: KvAbortReason.SEQUENCE_GAP,
    cancelled: KvAbortReason.CANCELLED,
    'peer-failed': side === 'sender' ? KvAbortReason.SENDER_FAILED : KvAbortReason.RECEIVER_FAILED,
  };
  return codes[reason];
}

export function failure(reason: TransferFailureReason, message: string): TransferFailure {
  return { ok: false, reason, message };
}

/** Best effort: a closed connection must not turn a typed failure into a throw. */
export function publishAbort(deps: SessionDeps, transferId: string, f: TransferFailure, side: 'sender' | 'receiver'): void {
  try {
    const body = wire.kvTransferControl.encode({
      transferId,
      msg: { case: 'abort', value: { reason: codeOf(f.reason, side), message: `${side}: ${f.message}` } },
    });
    deps.nc.publish(deps.subjects.kvxCtl(transferId), body);
  } catch {
    // The peer reclaims by its own deadline.
  }
}

/** The offer's deadline, or the configured default when it carries none. */
export function budgetMsOf(offer: KvTransferOffer, options: KvTransferOptions): number {
  return offer.timeoutMs > 0 ? offer.timeoutMs : options.deadlineMs;
}

/** Floats of one token of K (or of V) in one layer: K · D. */
export function tokenFloatsOf(offer: KvTransferOffer): number {
  const l = offer.layout;
  if (!l || l.numKvHeads < 1 || l.headDim < 1) throw new RangeError(`offer ${offer.transferId} has no usable KV layout`);
  return l.numKvHeads * l.headDim;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
