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
import { PayloadTooLargeError, crc32, wire, type KvChunk } from '@duet/core';
import type { KvSlice } from './types.ts';

if (endianness() !== 'LE') throw new Error('@duet/kv-transfer sends raw f32 bytes and needs a little-endian host');

/** Floats of one token of K (or of V) in one layer: K · D. */
export type TokenFloats = number;

function bytesOf(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** KvChunk fields other than the payload. */
export interface ChunkHeader {
  transferId: string;
  seq: number;
  layer: number;
  tokenStart: number;
  tokenEnd: number;
}

/** Protobuf tag of KvChunk.payload (field 7, length-delimited). */
const PAYLOAD_TAG = (7 << 3) | 2;
/** Room for the encoded header fields: a transfer id (≤ 256 chars) plus five small varints. */
const HEADER_SLACK_BYTES = 320;

function varintBytes(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/**
 * Encodes a KvChunk for tokens [a, b) of `slice` with one copy of the K/V bytes.
 *
 * Why not `wire.kvChunk.encode({ …, payload })`: protobuf-es writes a 256 KiB bytes field at
 * ~0.2 GB/s (1.3 ms per chunk), slower than NATS itself. Protobuf fields may come in any order, so
 * the payload field goes first, written in place, and the other fields are encoded by the wire
 * codec after it — a valid KvChunk that `wire.kvChunk.decode` reads as usual:
 *
 *   [tag 7][varint len][K bytes ‖ V bytes][wire.kvChunk.encode(header, crc32)]
 */
export function encodeChunk(h: ChunkHeader, slice: KvSlice, tokenFloats: TokenFloats, maxBytes: number, corrupt = false): { encoded: Uint8Array; payloadBytes: number } {
  const from = (h.tokenStart - slice.tokenStart) * tokenFloats;
  const to = (h.tokenEnd - slice.tokenStart) * tokenFloats;
  const half = (to - from) * 4;
  const prefix = 1 + varintBytes(2 * half);
  const buf = new Uint8Array(prefix + 2 * half + HEADER_SLACK_BYTES);
  const dv = new DataView(buf.buffer);
  dv.setUint8(0, PAYLOAD_TAG);
  for (let n = 2 * half, i = 1; ; i++, n = Math.floor(n / 128)) {
    if (n < 0x80) { dv.setUint8(i, n); break; }
    dv.setUint8(i, (n & 0x7f) | 0x80);
  }
  buf.set(bytesOf(slice.k.subarray(from, to)), prefix);
  buf.set(bytesOf(slice.v.subarray(from, to)), prefix + half);
  const payload = buf.subarray(prefix, prefix + 2 * half);
  const header = wire.kvChunk.encode({ ...h, crc32: crc32(payload) });
  if (corrupt) payload[0] ^= 0xff; // test fault: after the CRC, so the receiver must notice
  const total = prefix + 2 * half + header.byteLength;
  if (total > maxBytes || header.byteLength > HEADER_SLACK_BYTES) throw new PayloadTooLargeError(wire.kvChunk.typeName, total, maxBytes);
  buf.set(header, prefix + 2 * half);
  return { encoded: buf.subarray(0, total), payloadBytes: 2 * half };
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
