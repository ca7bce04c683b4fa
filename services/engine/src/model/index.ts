export type {
  Architecture,
  ExpertWeights,
  HostTensor,
  LayerWeights,
  LoadedModel,
  ModelConfig,
  ModelWeights,
  MoeConfig,
} from './types.ts';
export { ModelConfigError, ModelLoadError } from './errors.ts';
export { DTYPE_BYTES, type Dtype } from './dtype.ts';
export { openSafetensors, writeSafetensors, type NamedTensor, type SafetensorsFile, type TensorEntry } from './safetensors.ts';
export { INDEX_FILE, SINGLE_FILE, openCheckpoint, writeCheckpoint, type Checkpoint } from './checkpoint.ts';
export { SUPPORTED_MODEL_TYPES, parseModelConfig } from './config.ts';
export { loadModel } from './loader.ts';
export { MODEL_PRESETS, type ModelPreset, type PresetName } from './presets.ts';
export { createModel, ensureModel, GENERATOR_VERSION, type CreateModelOptions } from './create.ts';
export { CHAT_TEMPLATE, buildTokenizerConfig, buildTokenizerJson, specialTokenId } from './tokenizer-gen.ts';
export { SPECIAL_TOKENS, TOKEN_DOMAINS, type DomainBlock, type DomainName, type TokenDomainSpec } from './vocab.ts';
export {
  domainExperts,
  domainOfToken,
  domainPromptIds,
  domainTokenIds,
  tokenDomains,
  type TokenDomains,
} from './domains.ts';
export { DOMAIN_EMBED_SCALE, DOMAIN_LOGIT_SCALE, ROUTER_DOMAIN_LOGIT, domainDirections } from './weights-gen.ts';
export { Rng, splitmix32 } from './rng.ts';
