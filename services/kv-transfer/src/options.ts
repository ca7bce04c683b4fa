/** Options of the KV transports: defaults in one place, validated once. Units are in the names. */
import { DEFAULT_KV_CHUNK_BYTES, NATS_DEFAULT_MAX_PAYLOAD_BYTES } from '@duet/core';

/**
 * Test-only fault injection on the sender (default: none). `dropChunk(seq)` skips sending chunk
 * `seq` (the receiver sees a gap), `corruptChunk(seq)` flips a payload byte after the checksum was
 * computed (the receiver sees a checksum mismatch), `delayMs` waits that long before each chunk.
 */
export interface KvFaults {
  dropChunk?: (seq: number) => boolean;
  corruptChunk?: (seq: number) => boolean;
  delayMs?: number;
}

/** Observation hooks (metrics, tests); called synchronously, must not throw. */
export interface KvObserver {
  /** The sender handed chunk `seq` of `layer` to the channel. */
  chunkSent?: (seq: number, layer: number) => void;
}

export interface KvTransferOptionsInput {
  /** Budget of one chunk payload (K and V of whole tokens of one layer). */
  chunkBytes?: number;
  /** Chunks a receiver lets be in flight (sent, not yet imported). */
  creditWindow?: number;
  /** Default deadline of a transfer when an offer carries timeout_ms = 0. */
  deadlineMs?: number;
  /** The server's max_payload: an encoded chunk over it fails by name. */
  maxPayloadBytes?: number;
  faults?: KvFaults;
  observer?: KvObserver;
}

export type KvTransferOptions = Required<Omit<KvTransferOptionsInput, 'faults' | 'observer'>> & { faults: KvFaults; observer: KvObserver };

export const DEFAULT_CREDIT_WINDOW = 32;
/** Room a KvChunk needs besides its payload (tag, length, transfer id, seq, range, checksum). */
export const CHUNK_OVERHEAD_BYTES = 1024;
export const DEFAULT_DEADLINE_MS = 10_000;

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`kv-transfer option ${name} must be an integer ≥ 1, got ${v}`);
  return v;
}

export function resolveOptions(input: KvTransferOptionsInput = {}): KvTransferOptions {
  const o: KvTransferOptions = {
    chunkBytes: positiveInt('chunkBytes', input.chunkBytes ?? DEFAULT_KV_CHUNK_BYTES),
    creditWindow: positiveInt('creditWindow', input.creditWindow ?? DEFAULT_CREDIT_WINDOW),
    deadlineMs: positiveInt('deadlineMs', input.deadlineMs ?? DEFAULT_DEADLINE_MS),
    maxPayloadBytes: positiveInt('maxPayloadBytes', input.maxPayloadBytes ?? NATS_DEFAULT_MAX_PAYLOAD_BYTES),
    faults: input.faults ?? {},
    observer: input.observer ?? {},
  };
  if (o.chunkBytes + CHUNK_OVERHEAD_BYTES > o.maxPayloadBytes) throw new RangeError(`chunkBytes ${o.chunkBytes} leaves no room under maxPayloadBytes ${o.maxPayloadBytes}`);
  return o;
}
