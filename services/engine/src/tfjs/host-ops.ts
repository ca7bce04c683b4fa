/**
 * The step's small kernels, run on the host in plain loops over Float32Arrays.
 *
 * Legend: T tokens · E hidden · H heads · K kv heads · G = H/K · D head dim · L context length
 *
 * Why on the host: a decode step touches [T, E] activations with T = 1 … 64. On the TensorFlow.js
 * backends every op costs 3–11 µs of framework overhead whatever its size, and a norm, RoPE or a
 * residual add each took several ops (≈ 450 kernels per decode step). Here they are one loop each over
 * a few thousand floats. Only the weight matMuls (and long attention, see attention.ts) go to the
 * backend. Sums accumulate in float64.
 */

/** HF LlamaRMSNorm, row by row: out[t] = x[t] / sqrt(mean(x[t]²) + eps) · w.   x, out [T, E]; w [E] */
export function rmsNormRows(x: Float32Array, T: number, w: Float32Array, eps: number, out: Float32Array): void {
  const E = w.length;
  for (let t = 0; t < T; t++) {
    const o = t * E;
    let ss = 0;
    for (let i = 0; i < E; i++) ss += x[o + i] * x[o + i];
    const r = 1 / Math.sqrt(ss / E + eps);
    for (let i = 0; i < E; i++) out[o + i] = x[o + i] * r * w[i];
  }
}

/** x[i] += Σ_p parts[p][i] for i < n (the shards' partial outputs, added in shard order). */
export function addParts(x: Float32Array, parts: Float32Array[], n: number): void {
  if (parts.length === 2) {
    const [a, b] = parts;
    for (let i = 0; i < n; i++) x[i] += a[i] + b[i];
    return;
  }
  for (const p of parts) for (let i = 0; i < n; i++) x[i] += p[i];
}

/**
 * Rotary tables for positions 0 … maxPositions-1, computed in float64: angle(p, i) = p · θ^(−2i/D),
 * i < D/2. cos, sin [maxPositions, D/2].
 */
export function ropeTables(maxPositions: number, headDim: number, theta: number): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2;
  const cos = new Float32Array(maxPositions * half);
  const sin = new Float32Array(maxPositions * half);
  for (let i = 0; i < half; i++) {
    const invFreq = Math.pow(theta, (-2 * i) / headDim);
    for (let p = 0; p < maxPositions; p++) {
      cos[p * half + i] = Math.cos(p * invFreq);
      sin[p * half + i] = Math.sin(p * invFreq);
    }
  }
  return { cos, sin };
}

/**
 * RoPE in the HF "rotate_half" convention (the pair of dimension i is (i, i + D/2)), in place, then
 * times `scale`. Token t's `heads` heads start at `t·stride + offset` in `a`, D floats each; token t
 * sits at `positions[t]`.
 */
export function ropeInPlace(
  a: Float32Array,
  T: number,
  stride: number,
  offset: number,
  heads: number,
  D: number,
  positions: Int32Array,
  tables: { cos: Float32Array; sin: Float32Array },
  scale = 1,
): void {
  const half = D / 2;
  for (let t = 0; t < T; t++) {
    const trig = positions[t] * half;
    for (let h = 0; h < heads; h++) {
      const o = t * stride + offset + h * D;
      for (let i = 0; i < half; i++) {
        const c = tables.cos[trig + i];
        const s = tables.sin[trig + i];
        const x1 = a[o + i];
        const x2 = a[o + i + half];
        a[o + i] = (x1 * c - x2 * s) * scale;
        a[o + i + half] = (x2 * c + x1 * s) * scale;
      }
    }
  }
}

/** Where one chunk's queries and the cache it reads live. */
export interface HostAttentionInput {
  /** Rotated, pre-scaled queries: token i's local head h at `(i·stride) + h·D` (i < n). */
  q: Float32Array;
  stride: number;
  n: number;
  /** Position of the chunk's first new token; token i sees positions 0 … start+i. */
  start: number;
  /** The layer's cache arrays and each position's slot offset (`PagedKvStore.slotOffset`). */
  k: Float32Array;
  v: Float32Array;
  slots: Int32Array;
  /** kv heads [kvFrom, kvFrom+kvHeads) of the cache; G query heads per kv head. */
  kvFrom: number;
  kvHeads: number;
  G: number;
  D: number;
}

/** Float64 work space for attendHost: scores [≥ H·L], acc [≥ H·D] (H: the heads attended). */
export interface AttentionScratch {
  scores: Float64Array;
  acc: Float64Array;
}

/**
 * Causal attention of one chunk read straight from the paged cache (no gather, no upload).
 * out: token i's local head h at `i·outStride + h·D`.   O(n · L · H · D)
 *
 * Positions are the outer loop and heads the inner one, so each position's slot (the heads this
 * shard owns are contiguous in it) is read once per product while it is in cache; looping heads
 * outside made one strided pass over the context per head, mostly cache misses (≈ 2× slower).
 */
export function attendHost(a: HostAttentionInput, out: Float32Array, outStride: number, scratch: AttentionScratch): void {
  const { q, k, v, slots, D, G } = a;
  const { scores, acc } = scratch;
  const H = a.kvHeads * G;
  const kvOff = a.kvFrom * D;
  for (let i = 0; i < a.n; i++) {
    const L = a.start + i + 1;
    const qi = i * a.stride;
    for (let p = 0; p < L; p++) {
      const base = slots[p] + kvOff;
      for (let h = 0; h < H; h++) scores[h * L + p] = dot(q, qi + h * D, k, base + Math.floor(h / G) * D, D);
    }
    for (let h = 0; h < H; h++) softmaxInPlace(scores, h * L, L);
    acc.fill(0, 0, H * D);
    for (let p = 0; p < L; p++) {
      const base = slots[p] + kvOff;
      for (let h = 0; h < H; h++) axpy(acc, h * D, scores[h * L + p], v, base + Math.floor(h / G) * D, D);
    }
    for (let h = 0; h < H; h++) {
      const oo = i * outStride + h * D;
      for (let d = 0; d < D; d++) out[oo + d] = acc[h * D + d];
    }
  }
}

/** x[o … o+n-1] ← softmax of itself. */
function softmaxInPlace(x: Float64Array, o: number, n: number): void {
  let max = -Infinity;
  for (let j = 0; j < n; j++) if (x[o + j] > max) max = x[o + j];
  let sum = 0;
  for (let j = 0; j < n; j++) {
    const e = Math.exp(x[o + j] - max);
    x[o + j] = e;
    sum += e;
  }
  for (let j = 0; j < n; j++) x[o + j] /= sum;
}

/**
 * Σ a[ao+d]·b[bo+d] for d < n, four independent sums (a single running sum would wait on every
 * add's latency; this runs ≈ 3× faster).
 */
function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, n: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let d = 0;
  for (; d + 3 < n; d += 4) {
    s0 += a[ao + d] * b[bo + d];
    s1 += a[ao + d + 1] * b[bo + d + 1];
    s2 += a[ao + d + 2] * b[bo + d + 2];
    s3 += a[ao + d + 3] * b[bo + d + 3];
  }
  for (; d < n; d++) s0 += a[ao + d] * b[bo + d];
  return s0 + s1 + s2 + s3;
}

/** acc[ao+d] += w·x[xo+d] for d < n. */
function axpy(acc: Float64Array, ao: number, w: number, x: Float32Array, xo: number, n: number): void {
  let d = 0;
  for (; d + 3 < n; d += 4) {
    acc[ao + d] += w * x[xo + d];
    acc[ao + d + 1] += w * x[xo + d + 1];
    acc[ao + d + 2] += w * x[xo + d + 2];
    acc[ao + d + 3] += w * x[xo + d + 3];
  }
  for (; d < n; d++) acc[ao + d] += w * x[xo + d];
}
