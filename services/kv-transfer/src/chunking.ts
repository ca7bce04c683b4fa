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
/** An encoded KvChunk as consecutive byte ranges (views where possible): write them in order. */
export interface EncodedChunk {
  parts: Uint8Array[];
  byteLength: number;
  payloadBytes: number;
}

/**
 * Encodes a KvChunk for tokens [a, b) of `slice` without copying the K/V bytes.
 *
 * Why not `wire.kvChunk.encode({ …, payload })`: protobuf-es writes a 256 KiB bytes field at
 * ~0.2 GB/s (1.3 ms per 256 KiB), slower than NATS itself, and a fresh buffer per chunk costs
 * page faults. Protobuf fields may come in any order, so the payload field goes first as
 * [tag 7][varint len] followed by views of K and V, and the other fields (with the CRC, computed
 * over the two views in sequence) are encoded by the wire codec after it — a valid KvChunk that
 * `wire.kvChunk.decode` reads as usual:
 *
 *   parts = [tag 7 + varint len] [K bytes view] [V bytes view] [wire.kvChunk.encode(header, crc32)]
 *
 * The TCP transport writes the parts as they are (the kernel copies once, as for any socket
 * write); the NATS transport joins them into one message.
 */
export function encodeChunk(h: ChunkHeader, slice: KvSlice, tokenFloats: TokenFloats, maxBytes: number, corrupt = false): EncodedChunk {
  const from = (h.tokenStart - slice.tokenStart) * tokenFloats;
  const to = (h.tokenEnd - slice.tokenStart) * tokenFloats;
  let k = bytesOf(slice.k.subarray(from, to));
  const v = bytesOf(slice.v.subarray(from, to));
  const payloadBytes = k.byteLength + v.byteLength;
  const prefix = payloadPrefix(payloadBytes);
  const header = wire.kvChunk.encode({ ...h, crc32: crc32(v, crc32(k)) });
  if (corrupt) {
    // Test fault, after the CRC so the receiver must notice; on a copy, never on the source KV.
    k = Uint8Array.from(k);
    k[0] ^= 0xff;
  }
  const byteLength = prefix.byteLength + payloadBytes + header.byteLength;
  if (byteLength > maxBytes) throw new PayloadTooLargeError(wire.kvChunk.typeName, byteLength, maxBytes);
  return { parts: [prefix, k, v, header], byteLength, payloadBytes };
}

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

/** The parts of an encoded chunk in one buffer (for transports that need a single message). */
export function joinParts(c: EncodedChunk): Uint8Array {
  const out = Buffer.allocUnsafe(c.byteLength);
  let at = 0;
  for (const p of c.parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
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
