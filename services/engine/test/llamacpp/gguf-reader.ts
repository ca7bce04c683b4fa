/**
 * A small GGUF reader written from the spec (ggml docs/gguf.md), independent of the writer under
 * test: it shares no code or constants with bench/llamacpp/.
 */
export type ReadValue = number | bigint | boolean | string | ReadValue[];

export interface ReadTensorInfo {
  name: string;
  /** ggml ne, innermost first. */
  ne: number[];
  type: number;
  offset: number;
}

export interface ReadGguf {
  version: number;
  metadata: Map<string, { type: number; value: ReadValue }>;
  tensors: ReadTensorInfo[];
  /** Absolute file offset of the data section. */
  dataStart: number;
  alignment: number;
  /** f32 values of a tensor (type 0). */
  f32(name: string): Float32Array;
}

class Cursor {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  u8 = (): number => this.buf.readUInt8(this.pos++);
  u32 = (): number => ((this.pos += 4), this.buf.readUInt32LE(this.pos - 4));
  i32 = (): number => ((this.pos += 4), this.buf.readInt32LE(this.pos - 4));
  f32 = (): number => ((this.pos += 4), this.buf.readFloatLE(this.pos - 4));
  u64 = (): bigint => ((this.pos += 8), this.buf.readBigUInt64LE(this.pos - 8));
  str = (): string => {
    const n = Number(this.u64());
    this.pos += n;
    return this.buf.toString('utf8', this.pos - n, this.pos);
  };
}

function readValue(c: Cursor, type: number): ReadValue {
  switch (type) {
    case 0: return c.u8();
    case 4: return c.u32();
    case 5: return c.i32();
    case 6: return c.f32();
    case 7: return c.u8() !== 0;
    case 8: return c.str();
    case 10: return c.u64();
    case 9: {
      const itemType = c.u32();
      const n = Number(c.u64());
      return Array.from({ length: n }, () => readValue(c, itemType));
    }
    default: throw new Error(`gguf-reader: value type ${type} not handled`);
  }
}

export function readGguf(buf: Buffer): ReadGguf {
  const c = new Cursor(buf);
  const magic = buf.toString('latin1', 0, 4);
  if (magic !== 'GGUF') throw new Error(`bad magic ${magic}`);
  c.pos = 4;
  const version = c.u32();
  const nTensors = Number(c.u64());
  const nKv = Number(c.u64());
  const metadata = new Map<string, { type: number; value: ReadValue }>();
  for (let i = 0; i < nKv; i++) {
    const key = c.str();
    const type = c.u32();
    metadata.set(key, { type, value: readValue(c, type) });
  }
  const tensors: ReadTensorInfo[] = [];
  for (let i = 0; i < nTensors; i++) {
    const name = c.str();
    const nDims = c.u32();
    const ne = Array.from({ length: nDims }, () => Number(c.u64()));
    tensors.push({ name, ne, type: c.u32(), offset: Number(c.u64()) });
  }
  const alignment = (metadata.get('general.alignment')?.value as number | undefined) ?? 32;
  const dataStart = Math.ceil(c.pos / alignment) * alignment;
  const f32 = (name: string): Float32Array => {
    const t = tensors.find((x) => x.name === name);
    if (!t) throw new Error(`no tensor ${name}`);
    const n = t.ne.reduce((a, b) => a * b, 1);
    const start = dataStart + t.offset;
    return new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + start + n * 4));
  };
  return { version, metadata, tensors, dataStart, alignment, f32 };
}
