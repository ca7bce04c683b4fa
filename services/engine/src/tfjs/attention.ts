/**
 * Causal grouped-query attention of one sequence's new tokens over its whole context, read from the
 * paged KV cache.
 *
 * Legend: n new tokens · L context length (cached + new) · H heads · K kv heads · G = H/K · D head dim
 *
 * The new tokens sit at positions start … start+n-1, so L = start + n and query i may attend to
 * keys 0 … start+i. Query head h reads kv head ⌊h/G⌋ (HF `repeat_kv`). Two kernels compute the same
 * thing (both tested against the reference):
 *
 *   attendHost    plain loops straight over the cache: no gather, no upload, no per-op overhead.
 *                 Best for decode and short chunks (work n·G·L·D per kv head up to HOST_MAX_WORK).
 *   attendDevice  per kv head, 2-D matMuls on the backend (wasm: the XNNPACK fast path; a batched
 *                 3-D matMul would take its slow generic loop), in blocks of QUERY_BLOCK queries:
 *                     q_h [G·n, D]  rows g·n + i, rotated and pre-scaled by 1/√D
 *                     kᵀ_h [D, L], v_h [L, D]   gathered from the cache (kᵀ transposed on the way)
 *                     softmax(q_h · kᵀ_h + mask [G·n, L]) · v_h → [G·n, D]
 *                 (n, L: the block's queries and the keys they may see). Best for long prompts,
 *                 where the matMuls dominate.
 */
import * as tf from '@tensorflow/tfjs-core';
import { attendHost, type AttentionScratch, type HostAttentionInput } from './host-ops.ts';

export type { HostAttentionInput } from './host-ops.ts';

const MASKED = -1e30;

/** Work per kv head (n·G·L·D multiply-adds per product) up to which attention runs on the host. */
export const HOST_MAX_WORK = 64 * 1024;

/** Additive causal mask [G·n, L]: row g·n + i may see columns 0 … start+i. */
export function causalMask(groups: number, n: number, start: number): tf.Tensor2D {
  const L = start + n;
  const mask = new Float32Array(groups * n * L);
  for (let g = 0; g < groups; g++) {
    for (let i = 0; i < n; i++) {
      const row = (g * n + i) * L;
      mask.fill(MASKED, row + start + i + 1, row + L);
    }
  }
  return tf.tensor2d(mask, [groups * n, L]);
}

/**
 * Host buffers reused across calls (a long prompt would otherwise allocate megabytes per layer for
 * the garbage collector). Each thread loads its own copy of this module, and every tensor made from
 * them is disposed before the next use (the cpu backend keeps the array it is given).
 */
const buffers = new Map<string, Float32Array>();

function scratch(name: string, n: number): Float32Array {
  let b = buffers.get(name);
  if (!b || b.length < n) buffers.set(name, (b = new Float32Array(n)));
  return b.subarray(0, n);
}

/** Gathers kv head `head`'s keys transposed [D, L] and values [L, D] from the cache. */
function gatherHead(a: HostAttentionInput, head: number, L: number): { kT: Float32Array; v: Float32Array } {
  const D = a.D;
  const kT = scratch('kT', D * L);
  const v = scratch('v', L * D);
  for (let p = 0; p < L; p++) {
    const o = a.slots[p] + head * D;
    for (let d = 0; d < D; d++) kT[d * L + p] = a.k[o + d];
    v.set(a.v.subarray(o, o + D), p * D);
  }
  return { kT, v };
}

/**
 * Query tokens per block in attendDevice. Block [i0, i1) reads only keys 0 … start+i1-1 (causal),
 * so a 512-token prompt from position 0 costs 10/16 of the full square in 4 blocks.
 */
export const QUERY_BLOCK = 128;

/** The causal mask of query tokens [i0, i1) of a chunk, or null for a single token. */
export type BlockMask = (i0: number, i1: number) => tf.Tensor2D | null;

/**
 * As attendHost, on the backend, in blocks of `block` query tokens. `mask(i0, i1)` returns
 * causalMask(G, i1 − i0, start + i0) (or null when i1 − i0 = 1); the caller caches them, since a
 * chunk's masks are the same for every kv head and layer.
 */
export function attendDevice(a: HostAttentionInput, out: Float32Array, outStride: number, mask: BlockMask, block = QUERY_BLOCK): void {
  for (let i0 = 0; i0 < a.n; i0 += block) {
    const i1 = Math.min(a.n, i0 + block);
    attendBlock(a, i0, i1, out, outStride, mask(i0, i1));
  }
}

/** Query tokens [i0, i1) of a chunk against keys 0 … start+i1-1, one kv head at a time. */
function attendBlock(a: HostAttentionInput, i0: number, i1: number, out: Float32Array, outStride: number, mask: tf.Tensor2D | null): void {
  const { G, D } = a;
  const n = i1 - i0;
  const L = a.start + i1;
  const rows = G * n;
  const qh = scratch('q', rows * D);
  for (let kh = 0; kh < a.kvHeads; kh++) {
    for (let g = 0; g < G; g++) {
      for (let i = 0; i < n; i++) {
        const src = (i0 + i) * a.stride + (kh * G + g) * D;
        qh.set(a.q.subarray(src, src + D), (g * n + i) * D);
      }
    }
    const { kT, v } = gatherHead(a, a.kvFrom + kh, L);
    const res = tf.tidy(() => {
      let scores = tf.matMul(tf.tensor2d(qh, [rows, D]), tf.tensor2d(kT, [D, L]));
      if (mask) scores = tf.add(scores, mask);
      return tf.matMul(tf.softmax(scores), tf.tensor2d(v, [L, D]));
    });
    const o = res.dataSync() as Float32Array;
    res.dispose();
    for (let g = 0; g < G; g++) {
      for (let i = 0; i < n; i++) {
        const src = (g * n + i) * D;
        out.set(o.subarray(src, src + D), (i0 + i) * outStride + (kh * G + g) * D);
      }
    }
  }
}

/** Whether a chunk's attention runs on the host (see HOST_MAX_WORK). */
export function attendsOnHost(n: number, G: number, start: number, D: number): boolean {
  return n * G * (start + n) * D <= HOST_MAX_WORK;
}

/** One chunk's attention on whichever kernel suits its size. `mask` as for attendDevice. */
export function attendChunk(a: HostAttentionInput, out: Float32Array, outStride: number, scratch: AttentionScratch, mask: BlockMask): void {
  if (attendsOnHost(a.n, a.G, a.start, a.D)) attendHost(a, out, outStride, scratch);
  else attendDevice(a, out, outStride, mask);
}
