/**
 * Framing on the direct socket: each frame is a 4-byte little-endian length, then that many bytes
 * of an encoded KvChunk (the same message the NATS data subject carries).
 *
 *   ┌──────────┬────────────────────────────┬──────────┬─────────── …
 *   │ len (LE) │ KvChunk (len bytes)        │ len (LE) │ KvChunk …
 *   └──────────┴────────────────────────────┴──────────┴─────────── …
 */

export const FRAME_HEADER_BYTES = 4;

export function frameHeader(length: number): Uint8Array {
  const h = new Uint8Array(FRAME_HEADER_BYTES);
  new DataView(h.buffer).setUint32(0, length, true);
  return h;
}

/**
 * Reassembles frames from socket reads of any size. Buffers are kept as a list and joined only
 * when a frame spans reads, so a large frame costs one copy.
 */
export class FrameDecoder {
  private parts: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** Feeds one read; returns every frame it completed. Throws RangeError on an oversize frame. */
  push(data: Buffer): Uint8Array[] {
    this.parts.push(data);
    this.buffered += data.length;
    const frames: Uint8Array[] = [];
    for (;;) {
      if (this.buffered < FRAME_HEADER_BYTES) return frames;
      const len = this.peekLength();
      if (len > this.maxFrameBytes) throw new RangeError(`frame of ${len} bytes exceeds ${this.maxFrameBytes}`);
      if (this.buffered < FRAME_HEADER_BYTES + len) return frames;
      this.take(FRAME_HEADER_BYTES);
      frames.push(this.take(len));
    }
  }

  private peekLength(): number {
    const head = this.parts[0].length >= FRAME_HEADER_BYTES ? this.parts[0] : Buffer.concat(this.parts, FRAME_HEADER_BYTES);
    return head.readUInt32LE(0);
  }

  /** Removes and returns the next n buffered bytes (a view when they sit in one read). */
  private take(n: number): Uint8Array {
    this.buffered -= n;
    const first = this.parts[0];
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.parts.shift();
      else this.parts[0] = first.subarray(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const p = this.parts[0];
      const k = Math.min(p.length, n - at);
      p.copy(out, at, 0, k);
      at += k;
      if (k === p.length) this.parts.shift();
      else this.parts[0] = p.subarray(k);
    }
    return out;
  }
}
