/**
 * The safetensors file format (https://github.com/huggingface/safetensors), read and written
 * exactly per spec:
 *
 *   ┌──────────┬────────────────────────────┬────────────────────────────────────────┐
 *   │ N: u64 LE│ header: N bytes UTF-8 JSON │ byte buffer: every tensor, no holes    │
 *   └──────────┴────────────────────────────┴────────────────────────────────────────┘
 *   header = { "__metadata__"?: {str: str}, name: {dtype, shape, data_offsets: [begin, end]} }
 *
 * `data_offsets` are relative to the start of the byte buffer. The writer pads the header with
 * spaces to a multiple of 8 bytes and orders tensors by element size (then name), as the Rust
 * reference does, so every tensor starts at an offset aligned to its element size.
 * The reader reads each tensor with one positional read into its own buffer, so a large model is
 * never held twice, and F32 data is used in place (no conversion copy).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import type { HostTensor } from './types.ts';
import { DTYPE_BYTES, decodeToF32, encodeF32, isSupportedDtype, type Dtype } from './dtype.ts';
import { ModelLoadError } from './errors.ts';

/** Upper bound on the JSON header, as in the reference implementation (100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

export interface TensorEntry {
  name: string;
  /** The dtype string from the header (may be one the engine cannot decode, e.g. `I64`). */
  dtype: string;
  shape: number[];
  /** Absolute position of the first byte in the file. */
  fileOffset: number;
  byteLength: number;
}

export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsFile {
  path: string;
  metadata: Record<string, string> | null;
  tensors: Map<string, TensorEntry>;
  /** Decode one tensor to f32 (one read, one conversion). */
  read(name: string): Promise<HostTensor>;
  close(): Promise<void>;
}

function fail(file: string, message: string, tensor?: string): never {
  throw new ModelLoadError(`${file}: ${message}`, { file, tensor });
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Validate one header entry against the spec and the file's byte buffer. */
function parseEntry(file: string, name: string, raw: unknown, dataStart: number): TensorEntry {
  const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof e !== 'object' || e === null || typeof e.dtype !== 'string') {
    fail(file, `tensor "${name}" has no dtype in the header`, name);
  }
  const shape = e.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    fail(file, `tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`, name);
  }
  const offs = e.data_offsets;
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o))) {
    fail(file, `tensor "${name}" has invalid data_offsets ${JSON.stringify(offs)}`, name);
  }
  const [begin, end] = offs as [number, number];
  const dims = shape as number[];
  if (isSupportedDtype(e.dtype) && end - begin !== numel(dims) * DTYPE_BYTES[e.dtype]) {
    fail(file, `tensor "${name}" (${e.dtype} ${JSON.stringify(dims)}) spans ${end - begin} bytes`, name);
  }
  return { name, dtype: e.dtype, shape: dims, fileOffset: dataStart + begin, byteLength: end - begin };
}

/** The byte buffer must be covered exactly: tensors contiguous, no holes, nothing past the end. */
function checkCoverage(file: string, entries: TensorEntry[], dataStart: number, fileSize: number): void {
  const sorted = [...entries].sort((a, b) => a.fileOffset - b.fileOffset);
  let cursor = dataStart;
  for (const t of sorted) {
    if (t.fileOffset !== cursor) fail(file, `tensor "${t.name}" does not start where the previous one ends`, t.name);
    cursor += t.byteLength;
  }
  if (cursor !== fileSize) fail(file, `byte buffer ends at ${cursor} but the file has ${fileSize} bytes`);
}

async function readHeader(fh: FileHandle, file: string): Promise<{ json: Record<string, unknown>; dataStart: number; size: number }> {
  const { size } = await fh.stat();
  if (size < 8) fail(file, 'file is shorter than the 8-byte header length');
  const lenBuf = Buffer.alloc(8);
  await fh.read(lenBuf, 0, 8, 0);
  const n = Number(lenBuf.readBigUInt64LE(0));
  if (n > MAX_HEADER_BYTES || 8 + n > size) fail(file, `header length ${n} is invalid for a ${size}-byte file`);
  const headerBuf = Buffer.alloc(n);
  await fh.read(headerBuf, 0, n, 8);
  let json: unknown;
  try {
    json = JSON.parse(headerBuf.toString('utf8'));
  } catch (cause) {
    throw new ModelLoadError(`${file}: header is not valid JSON`, { file }, { cause });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(file, 'header is not a JSON object');
  return { json: json as Record<string, unknown>, dataStart: 8 + n, size };
}

/** Open a safetensors file and parse its header; tensors are read on demand. */
export async function openSafetensors(path: string): Promise<SafetensorsFile> {
  if (endianness() !== 'LE') throw new ModelLoadError('safetensors needs a little-endian host', { file: path });
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (cause) {
    throw new ModelLoadError(`${path}: cannot open (${(cause as Error).message})`, { file: path }, { cause });
  }
  try {
    const { json, dataStart, size } = await readHeader(fh, path);
    const tensors = new Map<string, TensorEntry>();
    let metadata: Record<string, string> | null = null;
    for (const [name, raw] of Object.entries(json)) {
      if (name === '__metadata__') metadata = raw as Record<string, string>;
      else tensors.set(name, parseEntry(path, name, raw, dataStart));
    }
    checkCoverage(path, [...tensors.values()], dataStart, size);
    const read = async (name: string): Promise<HostTensor> => {
      const t = tensors.get(name);
      if (!t) fail(path, `no tensor "${name}"`, name);
      if (!isSupportedDtype(t.dtype)) fail(path, `tensor "${name}" has dtype ${t.dtype}; supported: F32, F16, BF16`, name);
      // A fresh ArrayBuffer per tensor: 4-byte aligned, so F32 is decoded as a view.
      const bytes = new Uint8Array(t.byteLength);
      const { bytesRead } = await fh.read(bytes, 0, t.byteLength, t.fileOffset);
      if (bytesRead !== t.byteLength) fail(path, `short read of tensor "${name}"`, name);
      return { shape: [...t.shape], data: decodeToF32(bytes, t.dtype) };
    };
    return { path, metadata, tensors, read, close: () => fh.close() };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** Header JSON + the order tensors take in the byte buffer. */
function buildHeader(tensors: readonly NamedTensor[], dtype: Dtype, metadata: Record<string, string> | null): { header: Buffer; order: NamedTensor[] } {
  // One dtype per file here, so the reference order (alignment desc, then name) is by name.
  const order = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const json: Record<string, unknown> = {};
  if (metadata) json.__metadata__ = metadata;
  let offset = 0;
  for (const t of order) {
    if (numel(t.shape) !== t.data.length) {
      throw new Error(`tensor "${t.name}": shape ${JSON.stringify(t.shape)} does not match ${t.data.length} values`);
    }
    const bytes = t.data.length * DTYPE_BYTES[dtype];
    json[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const text = JSON.stringify(json);
  const padded = text + ' '.repeat((8 - (Buffer.byteLength(text) % 8)) % 8);
  return { header: Buffer.from(padded, 'utf8'), order };
}

/** Byte size of the data section `tensors` take as `dtype`. */
export function tensorBytes(tensors: readonly NamedTensor[], dtype: Dtype): number {
  return tensors.reduce((sum, t) => sum + t.data.length * DTYPE_BYTES[dtype], 0);
}

/** fs writes may be partial in principle; loop until every byte is down. */
async function writeAll(fh: FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.byteLength - done);
    done += bytesWritten;
  }
}

/** Write one safetensors file, converting each tensor from f32 to `dtype` as it is written. */
export async function writeSafetensors(
  path: string,
  tensors: readonly NamedTensor[],
  options: { dtype: Dtype; metadata?: Record<string, string> },
): Promise<void> {
  const { header, order } = buildHeader(tensors, options.dtype, options.metadata ?? null);
  const fh = await open(path, 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.byteLength));
    await writeAll(fh, len);
    await writeAll(fh, header);
    for (const t of order) await writeAll(fh, encodeF32(t.data, options.dtype));
  } finally {
    await fh.close();
  }
}
