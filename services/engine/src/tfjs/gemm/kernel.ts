/**
 * The GEMM microkernels, WebAssembly SIMD (128-bit, f32x4), assembled at start-up.
 *
 *   gemm<MR>(a, bp, c, M, N, K, ldc):  C[M, N] = A[M, K] · B[K, N]   for M a multiple of MR (1–4)
 *
 * Layouts (byte addresses into the module's memory; floats are f32):
 *   A   row-major [M, K] at `a`
 *   B   packed at `bp` in panels of 8 columns: panel p holds columns 8p … 8p+7 as K rows of 8
 *       floats, so element (k, 8p + j) is at bp + 4·(8p·K + 8k + j). N is a multiple of 8.
 *   C   row-major with row stride `ldc` floats, at `c`
 *
 * Loop nest: panels of B (outer; a panel is K·32 bytes, 16 KiB at K = 512, and stays in L1 while
 * every row tile reads it) → tiles of MR rows → k. The tile's MR × 8 results live in 2·MR v128
 * accumulators; per k it loads the panel's two vectors once and, per row, splats A[r, k] and
 * multiplies-adds (f32x4.mul then f32x4.add: wasm SIMD has no FMA without relaxed-simd). At MR = 4
 * that is 8 accumulators + 3 operands, within the 16 vector registers of x86-64. Each result is
 * the sum over k in ascending order, as a plain dot-product loop would add it (in f32).
 */
import { I32, OP, SIMD, V128, assembleModule, memarg, simd, sleb, type FunctionDef } from '../../wasm/assembler.ts';

/** Row-tile heights with a kernel each; M is split into a multiple of 4 and one remainder tile. */
export const ROW_TILES = [1, 2, 3, 4] as const;

// Params, then i32 locals, then v128 locals.
const A = 0, BP = 1, C = 2, M = 3, N = 4, K = 5, LDC = 6;
const I = 7, J = 8, AP = 9, BPP = 10, CP = 11, LDA = 12, LDCB = 13, KEND = 14;
const B0 = 15, B1 = 16, X = 17, ACC = 18;

const get = (l: number): number[] => [OP.localGet, l];
const set = (l: number): number[] => [OP.localSet, l];
const i32 = (n: number): number[] => [OP.i32Const, ...sleb(n)];
const acc = (r: number, h: number): number => ACC + 2 * r + h;

/** local ← local + n */
const bump = (l: number, n: number[]): number[] => [...get(l), ...n, OP.i32Add, ...set(l)];

function kLoop(mr: number): number[] {
  const body: number[] = [...get(BPP), ...simd(SIMD.load), ...memarg(0), ...set(B0), ...get(BPP), ...simd(SIMD.load), ...memarg(16), ...set(B1)];
  for (let r = 0; r < mr; r++) {
    // x ← splat(A[i + r, k]) from ap + r·lda
    body.push(...get(AP), ...(r ? [...get(LDA), ...i32(r), OP.i32Mul, OP.i32Add] : []), ...simd(SIMD.load32Splat), ...memarg(0), ...set(X));
    for (let h = 0; h < 2; h++) {
      body.push(...get(acc(r, h)), ...get(X), ...get(h ? B1 : B0), ...simd(SIMD.f32x4Mul), ...simd(SIMD.f32x4Add), ...set(acc(r, h)));
    }
  }
  body.push(...bump(AP, i32(4)), ...bump(BPP, i32(32)));
  body.push(...get(AP), ...get(KEND), OP.i32LtU, OP.brIf, 0);
  return [OP.loop, OP.void, ...body, OP.end];
}

function rowTile(mr: number): number[] {
  const zero = [...simd(SIMD.const), ...new Array<number>(16).fill(0)];
  const out: number[] = [OP.block, OP.void, OP.loop, OP.void, ...get(I), ...get(M), OP.i32GeU, OP.brIf, 1];
  for (let r = 0; r < mr; r++) for (let h = 0; h < 2; h++) out.push(...zero, ...set(acc(r, h)));
  out.push(...get(A), ...get(I), ...get(LDA), OP.i32Mul, OP.i32Add, ...set(AP)); // ap ← a + i·lda
  out.push(...get(BP), ...get(J), ...get(LDA), OP.i32Mul, OP.i32Add, ...set(BPP)); // panel j/8 starts at j·K floats
  out.push(...get(AP), ...get(LDA), OP.i32Add, ...set(KEND));
  out.push(...kLoop(mr));
  // cp ← c + i·ldc·4 + j·4
  out.push(...get(C), ...get(I), ...get(LDCB), OP.i32Mul, OP.i32Add, ...get(J), ...i32(2), OP.i32Shl, OP.i32Add, ...set(CP));
  for (let r = 0; r < mr; r++) {
    for (let h = 0; h < 2; h++) {
      out.push(...get(CP), ...(r ? [...get(LDCB), ...i32(r), OP.i32Mul, OP.i32Add] : []), ...get(acc(r, h)), ...simd(SIMD.store), ...memarg(16 * h));
    }
  }
  out.push(...bump(I, i32(mr)), OP.br, 0, OP.end, OP.end);
  return out;
}

function gemmFunction(mr: number): FunctionDef {
  const body: number[] = [...get(K), ...i32(2), OP.i32Shl, ...set(LDA), ...get(LDC), ...i32(2), OP.i32Shl, ...set(LDCB)];
  body.push(OP.block, OP.void, OP.loop, OP.void, ...get(J), ...get(N), OP.i32GeU, OP.brIf, 1);
  body.push(...i32(0), ...set(I), ...rowTile(mr));
  body.push(...bump(J, i32(8)), OP.br, 0, OP.end, OP.end);
  return { name: `gemm${mr}`, params: [I32, I32, I32, I32, I32, I32, I32], locals: [[8, I32], [3 + 2 * mr, V128]], body };
}

/** The module: gemm1 … gemm4, importing env.mem. */
export function gemmModuleBytes(): Uint8Array {
  return assembleModule(ROW_TILES.map(gemmFunction));
}
