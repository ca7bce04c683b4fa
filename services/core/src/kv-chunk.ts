/**
 * Framing constants of KV chunks (KvChunk in proto/duet/v1/kv_transfer.proto), and CRC-32. Chunks
 * no longer carry CRC-32: KvChunk.checksum is duet-kv32 (services/kv-transfer/src/kv-hash.ts).
 *
 * A chunk carries whole tokens of one layer, so its payload is tokens × bytesPerToken, and the
 * whole encoded KvChunk must stay under the server's max_payload (a publish over it is rejected by
 * the client). 768 KiB payloads stay a quarter below NATS's default 1 MiB and make per-message
 * overhead small: bench:kv-transfer moved 0.2 GB/s through Duet's NATS path with 256 KiB chunks
 * and 0.2–0.33 with 768 KiB ones on the same run's raw baseline (docs/benchmarks.md).
 */
import * as zlib from 'node:zlib';

/** nats-server's default max_payload. */
export const NATS_DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

/** Default budget of one KvChunk.payload. */
export const DEFAULT_KV_CHUNK_BYTES = 768 * 1024;

/**
 * Tokens of one layer that fit in one chunk: bytesPerToken = 2 (K and V) × kvHeads × headDim ×
 * dtype bytes. At least 1, so a huge single token still goes (as an over-budget chunk that the
 * encoder's maxBytes check then names) rather than looping forever on zero-token chunks.
 */
export function tokensPerChunk(bytesPerToken: number, chunkBytes: number = DEFAULT_KV_CHUNK_BYTES): number {
  if (!Number.isInteger(bytesPerToken) || bytesPerToken < 1) throw new RangeError(`bytesPerToken must be an integer ≥ 1, got ${bytesPerToken}`);
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1) throw new RangeError(`chunkBytes must be an integer ≥ 1, got ${chunkBytes}`);
  return Math.max(1, Math.floor(chunkBytes / bytesPerToken));
}

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

let table: Uint32Array | undefined;
function crcTable(): Uint32Array {
  if (table) return table;
  table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/** Slow path for Node < 20.15, which lacks zlib.crc32. `previous` continues a running CRC. */
export function crc32Js(bytes: Uint8Array, previous = 0): number {
  const t = crcTable();
  let c = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * CRC-32 (IEEE 802.3, the zlib/gzip one) of `bytes`, as an unsigned 32-bit number;
 * crc32(b, crc32(a)) = crc32(a ‖ b), so a payload in pieces needs no concatenation.
 */
export function crc32(bytes: Uint8Array, previous = 0): number {
  return nativeCrc32 ? nativeCrc32(bytes, previous) >>> 0 : crc32Js(bytes, previous);
}
