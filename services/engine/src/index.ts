/** Public entry of @duet/engine. */
export { EngineLoop, type EngineLoopHooks, type LoopEvent } from './loop/engine-loop.ts';
export { AsyncQueue } from './loop/async-queue.ts';
export { Engine, type EngineHooks, type EngineStats, type RequestOutput, type StepResult, type StoredSpan } from './engine.ts';
export { engineOptionsSchema, parseEngineOptions, type EngineOptions, type EngineOptionsInput } from './engine-options.ts';
export type { EngineRequest, ImportRequest } from './requests.ts';
export { InvalidRequestError, UnknownRequestError } from './errors.ts';
export { PagedKvStore, type KvRange, type KvStoreShape } from './cache/kv-store.ts';
export { initBackend, BACKEND_NAMES, BackendUnavailableError, type BackendInfo, type BackendName } from './tfjs/backend.ts';
export { makeSamplingParams, DEFAULT_SAMPLING, MAX_LOGPROBS, SamplingParamsError, type SamplingParams } from './sampling/params.ts';
export { sampleToken, argmax, type SampledToken, type TokenLogprob } from './sampling/sampler.ts';
export type { FinishReason } from './sched/sequence.ts';
export {
  BlockManager,
  DEFAULT_HASH_SALT,
  hashBlock,
  hashPromptBlocks,
  type BlockHash,
  type BlockManagerStats,
  type KvEvent,
  type KvSnapshot,
} from './kv/index.ts';
export {
  createModel,
  ensureModel,
  GENERATOR_VERSION,
  loadModel,
  parseModelConfig,
  ModelConfigError,
  ModelLoadError,
  MODEL_PRESETS,
  SUPPORTED_MODEL_TYPES,
  TOKEN_DOMAINS,
  domainOfToken,
  domainPromptIds,
  domainTokenIds,
  tokenDomains,
  splitmix32,
  type Architecture,
  type CreateModelOptions,
  type DomainName,
  type ExpertWeights,
  type HostTensor,
  type LayerWeights,
  type LoadedModel,
  type ModelConfig,
  type ModelWeights,
  type MoeConfig,
  type PresetName,
  type TokenDomains,
} from './model/index.ts';
export { loadTokenizer, IncrementalDetokenizer, type ChatMessage, type DuetTokenizer } from './tokenizer/index.ts';
/** The WebAssembly assembler of Duet's hand-written modules (also used by @duet/kv-transfer). */
export * as wasmAsm from './wasm/assembler.ts';
