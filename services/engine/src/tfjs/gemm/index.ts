export { WasmGemm, type GemmCall, type OutInPart, type PackedMatrix } from './wasm-gemm.ts';
