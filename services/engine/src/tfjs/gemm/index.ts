export { WasmGemm, type OutInPart, type PackedMatrix } from './wasm-gemm.ts';
