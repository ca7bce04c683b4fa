/**
 * Element conversions between f32 and the 16-bit on-disk dtypes.
 *
 * Both narrowing conversions round to nearest, ties to even (what PyTorch's `.half()` and
 * `.bfloat16()` do), keep the sign of zero, saturate to ±Inf on overflow and keep NaN a NaN.
 * Little-endian host only (the safetensors byte order); the reader checks this once.
 */

export type Dtype = 'F32' | 'F16' | 'BF16';

export const DTYPE_BYTES: Readonly<Record<Dtype, number>> = { F32: 4, F16: 2, BF16: 2 };

export function isSupportedDtype(s: string): s is Dtype {
  return s === 'F32' || s === 'F16' || s === 'BF16';
}

/** f32 bit pattern → f16 bit pattern, round-to-nearest-even. */
export function f32BitsToF16(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal (or underflow to zero): value = full · 2^(e-14-10) with the implicit bit restored.
    const shift = 14 - e;
    if (shift > 24) return sign;
    const full = mant | 0x800000;
    let half = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) === 1)) half += 1;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa bumps the exponent, which is exactly right (up to Inf).
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half += 1;
  return sign | half;
}

/** f32 bit pattern → bf16 bit pattern, round-to-nearest-even. */
export function f32BitsToBf16(x: number): number {
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

let f16Table: Float32Array | null = null;

/** All 65 536 f16 values as f32, built once: decoding is then one lookup per element. */
function f16ToF32Table(): Float32Array {
  if (f16Table) return f16Table;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) table[h] = sign * mant * 2 ** -24;
    else if (exp === 0x1f) table[h] = mant === 0 ? sign * Infinity : NaN;
    else table[h] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  f16Table = table;
  return table;
}

/** Encode f32 values as `dtype` little-endian bytes. */
export function encodeF32(src: Float32Array, dtype: Dtype): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  const convert = dtype === 'F16' ? f32BitsToF16 : f32BitsToBf16;
  for (let i = 0; i < bits.length; i++) out[i] = convert(bits[i]);
  return new Uint8Array(out.buffer);
}

/**
 * Decode `dtype` little-endian bytes into f32. For F32 the bytes must already sit in a buffer the
 * caller owns at a 4-byte aligned offset: the result is then a view, not a copy.
 */
export function decodeToF32(bytes: Uint8Array, dtype: Dtype): Float32Array {
  if (dtype === 'F32') return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const n = bytes.byteLength / 2;
  const halfs = new Uint16Array(bytes.buffer, bytes.byteOffset, n);
  const out = new Float32Array(n);
  if (dtype === 'F16') {
    const table = f16ToF32Table();
    for (let i = 0; i < n; i++) out[i] = table[halfs[i]];
  } else {
    const outBits = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) outBits[i] = halfs[i] << 16;
  }
  return out;
}
