/**
 * KV slices ⇄ chunk payloads (docs/wire.md, "KV transfer framing").
 *
 *   slice of layer L, tokens [s, e):   k [e−s, K, D]   v [e−s, K, D]
 *   chunk i covers tokens [a, b) ⊂ [s, e), b − a ≤ tokensPerChunk:
 *
 *     payload = k[a−s … b−s) bytes ‖ v[a−s … b−s) bytes      (raw little-endian f32)
 *
 * Only whole tokens go into a chunk, so a payload is (b − a) · 2 · K · D · 4 bytes.
 */
import { endianness } from 'node:os';
import { PayloadTooLargeError, wire, type KvChunk } from '@duet/core';
import type { KvHasher } from './kv-hash.ts';
import type { KvSlice } from './types.ts';

if (endianness() !== 'LE') throw new Error('@duet/kv-transfer sends raw f32 bytes and needs a little-endian host');

/** Floats of one token of K (or of V) in one layer: K · D. */
export type TokenFloats = number;

function bytesOf(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** KvChunk fields other than the payload and its checksum. */
export interface ChunkHeader {
  transferId: string;
  seq: number;
  layer: number;
  tokenStart: number;
  tokenEnd: number;
}

/** A chunk about to be encoded: its header and views of its K and V bytes (nothing copied yet). */
export interface ChunkDraft {
  header: ChunkHeader;
  k: Uint8Array;
  v: Uint8Array;
  payloadBytes: number;
  /** Test fault: flip a payload byte after the checksum was computed (on a copy, never the source). */
  corrupt: boolean;
}

/** The draft of the chunk carrying tokens [h.tokenStart, h.tokenEnd) of `slice`. */
export function draftChunk(h: ChunkHeader, slice: KvSlice, tokenFloats: TokenFloats, corrupt = false): ChunkDraft {
  const from = (h.tokenStart - slice.tokenStart) * tokenFloats;
  const to = (h.tokenEnd - slice.tokenStart) * tokenFloats;
  const k = bytesOf(slice.k.subarray(from, to));
  const v = bytesOf(slice.v.subarray(from, to));
  return { header: h, k, v, payloadBytes: k.byteLength + v.byteLength, corrupt };
}

/**
 * How a chunk goes on the wire. Protobuf fields may come in any order, so the payload field goes
 * first as [tag 7][varint length] followed by K and V, and the other fields (with the checksum of
 * K ‖ V) are encoded by the wire codec after it — a valid KvChunk that `wire.kvChunk.decode` reads
 * as usual (encoding a 768 KiB bytes field through protobuf-es ran at ~0.2 GB/s):
 *
 *   [tag 7 + varint len] [K bytes] [V bytes] [wire.kvChunk.encode(header, checksum)]
 *
 * Two encoders: `encodeChunkParts` leaves K and V as views (the TCP transport writes the parts
 * and the kernel copies them once); `encodeChunkInto` writes everything into one buffer that
 * `hash` can read in place (the NATS transport, whose message must be one buffer anyway).
 */
export interface EncodedChunk {
  seq: number;
  parts: Uint8Array[];
  byteLength: number;
  payloadBytes: number;
}

/** Protobuf tag of KvChunk.payload (field 7, length-delimited). */
const PAYLOAD_TAG = (7 << 3) | 2;

/** Tag of field 7 (length-delimited) and the varint of the payload length. */
function payloadPrefix(len: number): Uint8Array {
  const out = [PAYLOAD_TAG];
  for (let n = len; ; n = Math.floor(n / 128)) {
    if (n < 0x80) {
      out.push(n);
      break;
    }
    out.push((n & 0x7f) | 0x80);
  }
  return Uint8Array.from(out);
}

function checkSize(byteLength: number, maxBytes: number): void {
  if (byteLength > maxBytes) throw new PayloadTooLargeError(wire.kvChunk.typeName, byteLength, maxBytes);
}

/** The chunk as parts: K and V stay views of the slice; the checksum streams through `hasher`. */
export function encodeChunkParts(d: ChunkDraft, hasher: KvHasher, maxBytes: number): EncodedChunk {
  const prefix = payloadPrefix(d.payloadBytes);
  const header = wire.kvChunk.encode({ ...d.header, checksum: hasher.hashParts([d.k, d.v]) });
  let k = d.k;
  if (d.corrupt && k.byteLength > 0) {
    k = Uint8Array.from(k);
    k[0] ^= 0xff;
  }
  const byteLength = prefix.byteLength + d.payloadBytes + header.byteLength;
  checkSize(byteLength, maxBytes);
  return { seq: d.header.seq, parts: [prefix, k, d.v, header], byteLength, payloadBytes: d.payloadBytes };
}

/**
 * The chunk written into `out` (room for the payload and CHUNK_OVERHEAD_BYTES); `hash(from, n)`
 * gives the checksum of out[from, from + n) in place. Returns the view of `out` that is the message.
 */
export function encodeChunkInto(d: ChunkDraft, out: Uint8Array, hash: (from: number, n: number) => number, maxBytes: number): Uint8Array {
  const prefix = payloadPrefix(d.payloadBytes);
  const at = prefix.byteLength;
  out.set(prefix, 0);
  out.set(d.k, at);
  out.set(d.v, at + d.k.byteLength);
  const header = wire.kvChunk.encode({ ...d.header, checksum: hash(at, d.payloadBytes) });
  if (d.corrupt && d.payloadBytes > 0) out[at] ^= 0xff;
  const byteLength = at + d.payloadBytes + header.byteLength;
  checkSize(byteLength, maxBytes);
  if (byteLength > out.byteLength) throw new RangeError(`encodeChunkInto: a ${byteLength}-byte chunk in a ${out.byteLength}-byte buffer`);
  out.set(header, at + d.payloadBytes);
  return out.subarray(0, byteLength);
}

/** Float32 view of `bytes`; copies only when the bytes are not 4-byte aligned in their buffer. */
function floatsOf(bytes: Uint8Array): Float32Array {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : new Uint8Array(bytes); // a copy (Buffer#slice would be a view)
  return new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
}

/** The slice a chunk carries; throws RangeError when the payload size disagrees with its range. */
export function sliceOf(chunk: KvChunk, tokenFloats: TokenFloats): KvSlice {
  const n = chunk.tokenEnd - chunk.tokenStart;
  const half = n * tokenFloats * 4;
  if (n < 1 || chunk.payload.byteLength !== 2 * half) {
    throw new RangeError(`chunk ${chunk.seq}: ${chunk.payload.byteLength} payload bytes for tokens ${chunk.tokenStart}…${chunk.tokenEnd}`);
  }
  const all = floatsOf(chunk.payload);
  const floats = n * tokenFloats;
  return { layer: chunk.layer, tokenStart: chunk.tokenStart, tokenEnd: chunk.tokenEnd, k: all.subarray(0, floats), v: all.subarray(floats) };
}

/** Trims a slice to positions ≥ from (null when nothing is left). Views, no copies. */
export function trimSlice(slice: KvSlice, from: number, tokenFloats: TokenFloats): KvSlice | null {
  if (slice.tokenEnd <= from) return null;
  if (slice.tokenStart >= from) return slice;
  const cut = (from - slice.tokenStart) * tokenFloats;
  return { ...slice, tokenStart: from, k: slice.k.subarray(cut), v: slice.v.subarray(cut) };
}
