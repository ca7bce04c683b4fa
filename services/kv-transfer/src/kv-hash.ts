/**
 * duet-kv32, the checksum of a KvChunk payload (KvChunk.checksum; docs/wire.md), and `KvHasher`,
 * which computes it with WebAssembly SIMD.
 *
 * Definition, over the payload's bytes (length n):
 *
 *   16 lanes h[0‥15] (u32), starting at S[i]
 *   every 64-byte block, as 16 little-endian u32 words w[0‥15]:  h[i] ← (h[i] ⊕ w[i]) · K[i] mod 2³²
 *   a last partial block (n mod 64 ≠ 0) is zero-padded to 64 bytes and taken the same way
 *   x ← 0;  for i in 0‥15:  x ← (h[i] ⊕ rotl(x, 5)) · K[i] mod 2³²
 *   checksum = fmix32(x ⊕ n)          (murmur3's finalizer: every bit reaches every bit)
 *
 * Why not CRC-32 (what this replaced): zlib's CRC-32 in Node runs ~7 GB/s here (no SIMD in Node's
 * build), 10 ms per side for the 67 MB of bench:kv-transfer — most of what Duet added to a raw
 * NATS or socket transfer. This runs ~30 GB/s over bytes in its memory (4 × i32x4 multiply-xor
 * per 64 bytes), so hashing costs less than the copy into that memory (docs/benchmarks.md).
 *
 * What it guarantees: each lane step is a bijection of the lane (xor, then multiply by an odd K),
 * and so is each fold step, so any change confined to one 32-bit word — any number of flipped
 * bits in it — always changes the checksum. The length is mixed in, so zero bytes that only fill
 * the last block's padding are caught too. Other corruptions (truncation, reordering, several
 * words) go unnoticed with probability about 2⁻³². A transport checksum (framing bugs, memory
 * corruption), not a MAC. Splitting the bytes into parts anywhere gives the
 * same value (`hashParts`), and `kvHashReference` is a plain-JS version for tests.
 */
import { endianness } from 'node:os';
import { wasmAsm } from '@duet/engine';

if (endianness() !== 'LE') throw new Error('duet-kv32 hashes payload words in host order and needs a little-endian host');

const K = [
  0x9e3779b1, 0x85ebca77, 0xc2b2ae3d, 0x27d4eb2f, 0x165667b1, 0xd3a2646d, 0xfd7046c5, 0xb55a4f09,
  0x2545f491, 0x9e3779b9, 0x7feb352d, 0x846ca68b, 0xcc9e2d51, 0x1b873593, 0xe6546b65, 0x68e31da5,
];
const S = [
  0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0x082efa98, 0xec4e6c89,
  0x452821e6, 0x38d01377, 0xbe5466cf, 0x34e90c6c, 0xc0ac29b7, 0xc97c50dd, 0x3f84d5b5, 0xb5470917,
];
const BLOCK = 64;

function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** The fold and finalizer over the 16 lanes. */
function finish(h: Int32Array | number[], n: number): number {
  let x = 0;
  for (let i = 0; i < 16; i++) x = Math.imul(h[i] ^ ((x << 5) | (x >>> 27)), K[i]);
  return fmix32(x ^ n);
}

/** duet-kv32 in plain JavaScript, byte by byte: the definition, for tests (slow). */
export function kvHashReference(...parts: Uint8Array[]): number {
  const h = [...S];
  const block = new Uint8Array(BLOCK);
  const words = new DataView(block.buffer);
  let fill = 0;
  let n = 0;
  const take = (): void => {
    for (let i = 0; i < 16; i++) h[i] = Math.imul(h[i] ^ words.getInt32(4 * i, true), K[i]);
    block.fill(0);
    fill = 0;
  };
  for (const p of parts) {
    for (const b of p) {
      block[fill++] = b;
      if (fill === BLOCK) take();
    }
    n += p.length;
  }
  if (fill > 0) take();
  return finish(h, n);
}

// ── The WebAssembly module, assembled here (a few dozen bytes; no build step, no binary in git) ──
//
//   (module (import "env" "mem" (memory 1))
//     (func (export "blocks") (param $p i32) (param $end i32)   ;; lanes live at mem[0, 64)
//       (local $a0 v128) … (local $a3 v128)
//       a_k ← v128.load(16k)
//       (loop (br_if exit (p ≥ end))
//             a_k ← i32x4.mul(v128.xor(a_k, v128.load(p + 16k)), K[4k‥4k+3])   ;; k = 0‥3
//             p ← p + 64)
//       v128.store(16k, a_k)))

const { OP, SIMD, memarg, simd, sleb, V128, I32 } = wasmAsm;

function lanesConst(k: number): number[] {
  const b = Buffer.alloc(16);
  for (let j = 0; j < 4; j++) b.writeUInt32LE(K[4 * k + j] >>> 0, 4 * j);
  return [...simd(SIMD.const), ...b];
}

function assemble(): Uint8Array {
  const P = 0, END = 1, A = 2; // params p, end; locals a0‥a3
  const body: number[] = [];
  for (let k = 0; k < 4; k++) body.push(OP.i32Const, 0, ...simd(SIMD.load), ...memarg(16 * k), OP.localSet, A + k);
  body.push(OP.block, OP.void, OP.loop, OP.void);
  body.push(OP.localGet, P, OP.localGet, END, OP.i32GeU, OP.brIf, 1);
  for (let k = 0; k < 4; k++) {
    body.push(OP.localGet, A + k, OP.localGet, P, ...simd(SIMD.load), ...memarg(16 * k), ...simd(SIMD.xor), ...lanesConst(k), ...simd(SIMD.i32x4Mul), OP.localSet, A + k);
  }
  body.push(OP.localGet, P, OP.i32Const, ...sleb(64), OP.i32Add, OP.localSet, P, OP.br, 0);
  body.push(OP.end, OP.end);
  for (let k = 0; k < 4; k++) body.push(OP.i32Const, 0, OP.localGet, A + k, ...simd(SIMD.store), ...memarg(16 * k));
  return wasmAsm.assembleModule([{ name: 'blocks', params: [I32, I32], locals: [[4, V128]], body }]);
}

/** The compiled module, or null where WebAssembly SIMD is unavailable (then plain JS is used). */
const wasmModule = wasmAsm.compileOnce(assemble);
const wasm = wasmAsm.wasmApi;

// ── KvHasher: one instance and its memory ──
//
//   memory:  [0, 64) lanes · [64, 128) last partial block · [SCRATCH, +64 KiB) scratch · slots…
//
// `hashParts` streams any bytes through the scratch; `hashRange` hashes bytes that already sit
// in this memory (a slot a caller wrote into). The memory never grows, so views stay valid.

const TAIL = 64;
const SCRATCH = 256;
const SCRATCH_BYTES = 64 * 1024;
const SLOTS_AT = SCRATCH + SCRATCH_BYTES;

export class KvHasher {
  readonly memory: Uint8Array;
  private readonly lanes: Int32Array;
  private readonly blocks: (p: number, end: number) => void;
  readonly slotStride: number;

  /**
   * `slots` regions of `slotBytes` each for callers to fill and hash in place (none by default).
   * `simd: false` forces the plain-JS block loop (tests of the fallback).
   */
  constructor(readonly slots = 0, slotBytes = 0, options: { simd?: boolean } = {}) {
    this.slotStride = Math.ceil(slotBytes / BLOCK) * BLOCK;
    const bytes = SLOTS_AT + slots * this.slotStride;
    const module = options.simd === false ? null : wasmModule();
    if (module && wasm) {
      const mem = new wasm.Memory({ initial: Math.ceil(bytes / 65536) });
      const instance = new wasm.Instance(module, { env: { mem } });
      this.blocks = instance.exports.blocks as (p: number, end: number) => void;
      this.memory = new Uint8Array(mem.buffer);
    } else {
      this.memory = new Uint8Array(bytes);
      this.blocks = (p, end) => this.blocksJs(p, end);
    }
    this.lanes = new Int32Array(this.memory.buffer, 0, 16);
  }

  /** Whether the WebAssembly SIMD path is in use (false: the plain-JS fallback). */
  static get simd(): boolean {
    return wasmModule() !== null;
  }

  /** Byte offset of slot i in `memory`. */
  slotOffset(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.slots) throw new RangeError(`slot ${i} of ${this.slots}`);
    return SLOTS_AT + i * this.slotStride;
  }

  /** duet-kv32 of memory[offset, offset + n). */
  hashRange(offset: number, n: number): number {
    this.lanes.set(S);
    const full = n - (n % BLOCK);
    this.blocks(offset, offset + full);
    return this.finishWithTail(this.memory.subarray(offset + full, offset + n), n);
  }

  /** duet-kv32 of the concatenation of `parts` (copied through the scratch 64 KiB at a time). */
  hashParts(parts: readonly Uint8Array[]): number {
    this.lanes.set(S);
    let fill = 0;
    let n = 0;
    for (const p of parts) {
      n += p.length;
      for (let at = 0; at < p.length; ) {
        const k = Math.min(SCRATCH_BYTES - fill, p.length - at);
        this.memory.set(p.subarray(at, at + k), SCRATCH + fill);
        fill += k;
        at += k;
        if (fill === SCRATCH_BYTES) {
          this.blocks(SCRATCH, SCRATCH + SCRATCH_BYTES);
          fill = 0;
        }
      }
    }
    const full = fill - (fill % BLOCK);
    this.blocks(SCRATCH, SCRATCH + full);
    return this.finishWithTail(this.memory.subarray(SCRATCH + full, SCRATCH + fill), n);
  }

  private finishWithTail(tail: Uint8Array, n: number): number {
    if (tail.length > 0) {
      this.memory.copyWithin(TAIL, tail.byteOffset - this.memory.byteOffset, tail.byteOffset - this.memory.byteOffset + tail.length);
      this.memory.fill(0, TAIL + tail.length, TAIL + BLOCK);
      this.blocks(TAIL, TAIL + BLOCK);
    }
    return finish(this.lanes, n);
  }

  /** The block loop in plain JS (no WebAssembly SIMD): same lanes, same result. */
  private blocksJs(p: number, end: number): void {
    const w = new DataView(this.memory.buffer);
    for (; p < end; p += BLOCK) for (let i = 0; i < 16; i++) this.lanes[i] = Math.imul(this.lanes[i] ^ w.getInt32(p + 4 * i, true), K[i]);
  }
}

let shared: KvHasher | null = null;
/** A process-wide hasher with no slots, for `hashParts` (receivers, the TCP sender). */
export function sharedHasher(): KvHasher {
  shared ??= new KvHasher();
  return shared;
}
