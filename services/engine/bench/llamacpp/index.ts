/**
 * llama.cpp side of `bench:engine --vs-llamacpp`: convert a model folder to GGUF, run it through
 * node-llama-cpp (installed on demand into .cache/llamacpp), time it like Duet, and use it as an
 * independent greedy-token / logits oracle.
 */
export { convertToGguf, ensureGguf, ggufContents, modelMetadata, modelTensors, permuteQk, stackExperts } from './convert.ts';
export {
  GGUF_ALIGNMENT,
  GGUF_VALUE_TYPE,
  GGUF_VERSION,
  alignUp,
  encodeGgufHeader,
  gguf,
  writeGguf,
  type GgufMetadata,
  type GgufTensor,
  type GgufValue,
} from './gguf-writer.ts';
export { PRE_TOKENIZER, TOKEN_TYPE } from './gguf-vocab.ts';
export { LlamaCppUnavailableError, NODE_LLAMA_CPP_VERSION, ensureLlamaCpp, getCpuLlama, type NodeLlamaCpp } from './install.ts';
export {
  llamaCppGreedy,
  llamaCppLogits,
  measureLlamaCpp,
  openLlamaCpp,
  timeDecode,
  timePrefill,
  type LlamaCppMeasurement,
  type LlamaCppSession,
  type MeasureLlamaCppOptions,
  type OracleOptions,
} from './runner.ts';
