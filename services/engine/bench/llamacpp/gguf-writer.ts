/**
 * A minimal GGUF v3 writer (f32 tensors only), laid out as ggml's gguf-py `GGUFWriter` writes it:
 *
 *   "GGUF" u32 version=3 · u64 tensor_count · u64 kv_count
 *   kv_count × (string key · u32 value_type · value)
 *   tensor_count × (string name · u32 n_dims · n_dims × u64 ne · u32 ggml_type · u64 offset)
 *   zero padding to ALIGNMENT
 *   tensor data, each tensor starting at data_start + offset, offsets multiples of ALIGNMENT,
 *   each tensor followed by zero padding to ALIGNMENT (so the file ends aligned)
 *
 * Strings are u64 byte length + UTF-8 bytes (no terminator); arrays are u32 item type, u64 count,
 * items. Everything is little-endian.
 *
 * Shapes: callers give the row-major (numpy / PyTorch) shape, outermost first. GGUF stores ggml's
 * `ne`, innermost first, so `ne` is the reversed shape: an HF Linear weight [out, in] is written
 * with ne = [in, out]. The bytes are the same.
 */
import { open } from 'node:fs/promises';

export const GGUF_MAGIC = 'GGUF';
export const GGUF_VERSION = 3;
/** `general.alignment` default; we never write the key, so readers assume this. */
export const GGUF_ALIGNMENT = 32;
export const GGML_TYPE_F32 = 0;

/** gguf_type ids (gguf-py `GGUFValueType`). */
export const GGUF_VALUE_TYPE = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
} as const;

export type GgufNumberType = 'u32' | 'i32' | 'f32' | 'u64';

export type GgufValue =
  | { type: GgufNumberType; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'array'; itemType: 'string'; value: readonly string[] }
  | { type: 'array'; itemType: GgufNumberType; value: ArrayLike<number> };

/** Ordered key → value; insertion order is file order. */
export type GgufMetadata = Map<string, GgufValue>;

export interface GgufTensor {
  name: string;
  /** Row-major shape, outermost first (written reversed as ggml `ne`). */
  shape: readonly number[];
  data: Float32Array;
}

export const gguf = {
  u32: (value: number): GgufValue => ({ type: 'u32', value }),
  i32: (value: number): GgufValue => ({ type: 'i32', value }),
  f32: (value: number): GgufValue => ({ type: 'f32', value }),
  bool: (value: boolean): GgufValue => ({ type: 'bool', value }),
  str: (value: string): GgufValue => ({ type: 'string', value }),
  strings: (value: readonly string[]): GgufValue => ({ type: 'array', itemType: 'string', value }),
  i32s: (value: ArrayLike<number>): GgufValue => ({ type: 'array', itemType: 'i32', value }),
};

export const alignUp = (n: number, a: number = GGUF_ALIGNMENT): number => Math.ceil(n / a) * a;

/** Growable little-endian byte sink for the header. */
class ByteSink {
  private buf = Buffer.alloc(1 << 16);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  u32(v: number): void {
    this.reserve(4);
    this.length = this.buf.writeUInt32LE(v, this.length);
  }
  i32(v: number): void {
    this.reserve(4);
    this.length = this.buf.writeInt32LE(v, this.length);
  }
  u64(v: number): void {
    this.reserve(8);
    this.length = this.buf.writeBigUInt64LE(BigInt(v), this.length);
  }
  f32(v: number): void {
    this.reserve(4);
    this.length = this.buf.writeFloatLE(v, this.length);
  }
  u8(v: number): void {
    this.reserve(1);
    this.length = this.buf.writeUInt8(v, this.length);
  }
  string(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.reserve(bytes.length);
    this.length += bytes.copy(this.buf, this.length);
  }
  zeros(n: number): void {
    this.reserve(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

function writeNumber(sink: ByteSink, type: GgufNumberType, v: number): void {
  if (type === 'u64') sink.u64(v);
  else sink[type](v);
}

function writeValue(sink: ByteSink, v: GgufValue): void {
  sink.u32(GGUF_VALUE_TYPE[v.type]);
  if (v.type === 'string') sink.string(v.value);
  else if (v.type === 'bool') sink.u8(v.value ? 1 : 0);
  else if (v.type !== 'array') writeNumber(sink, v.type, v.value);
  else {
    sink.u32(GGUF_VALUE_TYPE[v.itemType]);
    sink.u64(v.value.length);
    if (v.itemType === 'string') for (const s of v.value) sink.string(s);
    else for (let i = 0; i < v.value.length; i++) writeNumber(sink, v.itemType, v.value[i]);
  }
}

function checkTensor(t: GgufTensor): void {
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (n !== t.data.length) throw new Error(`gguf: tensor "${t.name}" has ${t.data.length} values, shape [${t.shape.join(', ')}] needs ${n}`);
}

/**
 * Header bytes (through the padding before the data section) and each tensor's data offset,
 * relative to the data section.
 */
export function encodeGgufHeader(metadata: GgufMetadata, tensors: readonly GgufTensor[]): { header: Buffer; offsets: number[] } {
  const sink = new ByteSink();
  for (const c of GGUF_MAGIC) sink.u8(c.charCodeAt(0));
  sink.u32(GGUF_VERSION);
  sink.u64(tensors.length);
  sink.u64(metadata.size);
  for (const [key, value] of metadata) {
    sink.string(key);
    writeValue(sink, value);
  }
  const offsets: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    checkTensor(t);
    sink.string(t.name);
    sink.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) sink.u64(d);
    sink.u32(GGML_TYPE_F32);
    sink.u64(offset);
    offsets.push(offset);
    offset += alignUp(t.data.byteLength);
  }
  sink.zeros(alignUp(sink.length) - sink.length);
  return { header: Buffer.from(sink.bytes()), offsets };
}

/** Write a GGUF file; returns its size in bytes. Assumes a little-endian host (x86, arm64). */
export async function writeGguf(path: string, metadata: GgufMetadata, tensors: readonly GgufTensor[]): Promise<number> {
  const { header } = encodeGgufHeader(metadata, tensors);
  const fh = await open(path, 'w');
  try {
    let pos = 0;
    const put = async (b: Uint8Array): Promise<void> => {
      for (let done = 0; done < b.length; ) {
        const { bytesWritten } = await fh.write(b, done, b.length - done, pos);
        done += bytesWritten;
        pos += bytesWritten;
      }
    };
    await put(header);
    for (const t of tensors) {
      await put(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      await put(new Uint8Array(alignUp(t.data.byteLength) - t.data.byteLength));
    }
    return pos;
  } finally {
    await fh.close();
  }
}
