/**
 * WasmGemm: one thread's matrix multiplications on the GEMM microkernels (kernel.ts), with the
 * weights packed once into the module's own memory.
 *
 * Memory layout: packed matrices from byte 0 up (a bump allocator; they live until dispose), then
 * the per-call scratch: A [M, K] and C [M, N′] (N′ = N rounded up to 8), grown on demand. All
 * growth happens outside a call, so views are refreshed after every grow.
 *
 * Costs per matmul: the copy of x into the module (M·K floats), the kernels, and the copy of the
 * result out (M·N floats). Versus the TensorFlow.js wasm backend (XNNPACK) on the `bench` shapes,
 * one thread: 1.3–1.5× faster from 1 to 512 rows at [512, 768], 3× at [128,512]·[512,64], but
 * 0.84× for 8 rows through the [512, 16000] LM head (docs/engine.md, "Matmul paths").
 */
import { compileOnce, wasmApi as wasm } from '../../wasm/assembler.ts';
import { gemmModuleBytes } from './kernel.ts';

const PAGE = 65536;
/**
 * Up to this many rows, one kernel call per 4-row tile (each a full pass over B) beats one call over
 * all rows: with two or more tiles per panel, the tiles' A rows and the 16 KiB panel no longer fit
 * in L1 together, and a decode batch's weights come cold from memory. Measured on `bench` shapes with
 * weights cycled out of cache, [8,512]·[512,384]: 62 vs 97 µs; 16 rows 115 vs 157; 64 rows 403 vs
 * 452 (and the same at 768 and 1536 columns). Prefill-sized M keeps the single call (65 GFLOP/s).
 */
const ROW_BLOCK_MAX_ROWS = 64;
/** wasm32: at most 4 GiB per memory. */
const MAX_PAGES = 65536;

type Kernel = (a: number, bp: number, c: number, M: number, N: number, K: number, ldc: number) => void;

/** The compiled module, or null where WebAssembly SIMD is unavailable. */
const gemmModule = compileOnce(gemmModuleBytes);

/** A packed [K, N] matrix in a WasmGemm's memory. */
export interface PackedMatrix {
  /** Rows (the input width). */
  readonly K: number;
  /** Columns (the output width). */
  readonly N: number;
  /** N rounded up to a multiple of 8 (padding columns are zero). */
  readonly paddedN: number;
  /** Byte offset of panel 0. */
  readonly offset: number;
}

/** HF-layout parts `[out_i, in]` stacked along out: the packed matrix is their transpose, [in, Σ out_i]. */
export interface OutInPart {
  data: Float32Array;
  rows: number;
}

/** One matmul call, as a profiler sees it (bench:engine --profile). */
export interface GemmCall {
  M: number;
  K: number;
  N: number;
  ms: number;
}

export class WasmGemm {
  /** When set, every matmul on this thread reports its shape and time here (profiling only). */
  static profiler: ((call: GemmCall) => void) | null = null;

  /** Whether this runtime can run the kernels (WebAssembly SIMD). */
  static get available(): boolean {
    return gemmModule() !== null;
  }

  private readonly memory: { buffer: ArrayBuffer; grow(pages: number): number };
  private readonly kernels: Kernel[];
  private f32: Float32Array;
  /** End of the packed matrices (bytes). */
  private top = 0;

  constructor() {
    const module = gemmModule();
    if (!module || !wasm) throw new Error('WasmGemm: this runtime has no WebAssembly SIMD');
    this.memory = new wasm.Memory({ initial: 1, maximum: MAX_PAGES });
    const exports = new wasm.Instance(module, { env: { mem: this.memory } }).exports;
    this.kernels = [1, 2, 3, 4].map((mr) => exports[`gemm${mr}`] as Kernel);
    this.f32 = new Float32Array(this.memory.buffer);
  }

  /** Bytes of packed weights held. */
  get packedBytes(): number {
    return this.top;
  }

  /**
   * Packs HF `[out, in]` matrices (stacked along out, e.g. q, k and v) as one [in, Σ out] matrix.
   * K = in, N = Σ rows.
   */
  packOutIn(parts: OutInPart[]): PackedMatrix {
    const N = parts.reduce((a, p) => a + p.rows, 0);
    const K = parts[0].data.length / parts[0].rows;
    for (const p of parts) if (!Number.isInteger(K) || p.data.length !== p.rows * K) throw new RangeError(`packOutIn: part of ${p.data.length} floats is not [${p.rows}, ${K}]`);
    const paddedN = Math.ceil(N / 8) * 8;
    const offset = this.top;
    this.reserve(offset + paddedN * K * 4);
    this.top = offset + paddedN * K * 4;
    const f = this.f32;
    const base = offset / 4;
    let n = 0;
    for (const p of parts) {
      for (let r = 0; r < p.rows; r++, n++) {
        // Column n of the packed matrix is row r of the part: panel ⌊n/8⌋, lane n mod 8.
        const dst = base + Math.floor(n / 8) * 8 * K + (n % 8);
        const src = p.data.subarray(r * K, (r + 1) * K);
        for (let k = 0; k < K; k++) f[dst + 8 * k] = src[k];
      }
    }
    return { K, N, paddedN, offset };
  }

  /** x [M, K] (row-major, the first M·K floats) · m → a new Float32Array [M, N]. */
  matmul(x: Float32Array, M: number, m: PackedMatrix): Float32Array {
    const profiler = WasmGemm.profiler;
    if (!profiler) return this.run(x, M, m);
    const t0 = performance.now();
    const out = this.run(x, M, m);
    profiler({ M, K: m.K, N: m.N, ms: performance.now() - t0 });
    return out;
  }

  private run(x: Float32Array, M: number, m: PackedMatrix): Float32Array {
    const { K, N, paddedN } = m;
    if (x.length < M * K) throw new RangeError(`matmul: x has ${x.length} floats, needs ${M}×${K}`);
    const a = align16(this.top);
    const c = align16(a + M * K * 4);
    this.reserve(c + M * paddedN * 4);
    const f = this.f32;
    f.set(x.subarray(0, M * K), a / 4);
    const whole = M - (M % 4);
    if (whole > 0 && M <= ROW_BLOCK_MAX_ROWS) {
      for (let i = 0; i < whole; i += 4) this.kernels[3](a + i * K * 4, m.offset, c + i * paddedN * 4, 4, paddedN, K, paddedN);
    } else if (whole > 0) {
      this.kernels[3](a, m.offset, c, whole, paddedN, K, paddedN);
    }
    const rest = M - whole;
    if (rest > 0) this.kernels[rest - 1](a + whole * K * 4, m.offset, c + whole * paddedN * 4, rest, paddedN, K, paddedN);
    if (paddedN === N) return f.slice(c / 4, c / 4 + M * N);
    const out = new Float32Array(M * N);
    for (let r = 0; r < M; r++) out.set(f.subarray(c / 4 + r * paddedN, c / 4 + r * paddedN + N), r * N);
    return out;
  }

  private reserve(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return;
    const pages = Math.ceil((bytes - have) / PAGE);
    if (have / PAGE + pages > MAX_PAGES) throw new RangeError(`WasmGemm: ${bytes} bytes exceed a wasm32 memory (4 GiB)`);
    // Grow geometrically while packing, so n matrices cost O(log n) grows, not n.
    this.memory.grow(Math.min(MAX_PAGES - have / PAGE, Math.max(pages, Math.ceil(have / PAGE / 4))));
    this.f32 = new Float32Array(this.memory.buffer);
  }
}

const align16 = (n: number): number => Math.ceil(n / 16) * 16;
