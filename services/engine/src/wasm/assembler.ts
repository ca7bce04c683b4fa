/**
 * The few pieces of the WebAssembly binary format Duet's hand-assembled modules need (the engine's
 * GEMM, kv-transfer's duet-kv32 hasher): LEB128 numbers, sections, the opcodes they use (core and
 * SIMD), a one-memory module builder, and compile-once. A module is a handful of bytes assembled
 * at start-up, so there is no build step and no binary in git.
 */

export const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};

/** Signed LEB128 of a 32-bit integer (i32.const immediates). */
export const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
};

export const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
export const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
export const name = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s)];

export const I32 = 0x7f;
export const V128 = 0x7b;

/** Core opcodes. */
export const OP = {
  block: 0x02, loop: 0x03, br: 0x0c, brIf: 0x0d, end: 0x0b, void: 0x40,
  localGet: 0x20, localSet: 0x21,
  i32Const: 0x41, i32GeU: 0x4f, i32LtU: 0x49, i32Add: 0x6a, i32Mul: 0x6c, i32Shl: 0x74,
} as const;

/** SIMD opcodes (after the 0xfd prefix). */
export const SIMD = { load: 0x00, load32Splat: 0x09, store: 0x0b, const: 0x0c, xor: 0x51, i32x4Mul: 0xb5, f32x4Add: 0xe4, f32x4Mul: 0xe6 } as const;

export const simd = (op: number): number[] => [0xfd, ...uleb(op)];
/** memarg with alignment hint 1 (loads may be unaligned) and a byte offset. */
export const memarg = (offset: number): number[] => [0, ...uleb(offset)];

export interface FunctionDef {
  name: string;
  params: number[];
  /** Local declarations: [count, type]. */
  locals: Array<[number, number]>;
  body: number[];
}

/** A module importing one memory as env.mem (min `minPages`), exporting `fns` (no results). */
export function assembleModule(fns: FunctionDef[], minPages = 1): Uint8Array {
  const types = fns.map((f) => [0x60, ...vec(f.params.map((p) => [p])), 0]);
  const code = fns.map((f) => {
    const body = [...vec(f.locals.map(([n, t]) => [...uleb(n), t])), ...f.body, OP.end];
    return [...uleb(body.length), ...body];
  });
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, vec([[...name('env'), ...name('mem'), 0x02, 0x00, ...uleb(minPages)]])),
    ...section(3, vec(fns.map((_, i) => uleb(i)))),
    ...section(7, vec(fns.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(code)),
  ]);
}

/** The part of the WebAssembly JS API used here (this project's TypeScript lib has no WebAssembly types). */
export interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum?: number }) => { buffer: ArrayBuffer; grow(pages: number): number };
}

/** The runtime's WebAssembly, or undefined where it has none. */
export const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/**
 * `bytes()` compiled on first call and kept; null where the runtime cannot compile it (no
 * WebAssembly, or no SIMD), so callers can fall back.
 */
export function compileOnce(bytes: () => Uint8Array): () => object | null {
  let compiled: object | null | undefined;
  return () => {
    if (compiled === undefined) {
      try {
        compiled = wasmApi ? new wasmApi.Module(bytes()) : null;
      } catch {
        compiled = null;
      }
    }
    return compiled;
  };
}
