/** Public entry of @duet/gateway: the OpenAI-compatible HTTP API and its inference backends. */
export { createGatewayApp, DEFAULT_BODY_LIMIT_BYTES, type GatewayApp, type GatewayDeps } from './http/app.ts';
export { ApiError, toApiError, type OpenAiErrorType } from './http/errors.ts';
export { StopMatcher } from './http/stop.ts';
export type {
  BackendEvent,
  BackendFinishReason,
  BackendRequest,
  BackendSampling,
  BackendToken,
  BackendUsage,
  InferenceBackend,
} from './backend/types.ts';
export { BackendFailureError, BackendRequestError, NoCapacityError } from './backend/errors.ts';
export { LocalEngineBackend } from './backend/local-engine.ts';
export { NatsBackend, type NatsBackendOptions } from './backend/nats-backend.ts';
export { GATEWAY_METRIC_NAMES, createGatewayMetrics, type GatewayMetrics } from './metrics.ts';
export { loadModelRegistry, loadServedModel, parseModelSource, type ModelRegistry, type ModelSource, type ServedModel } from './models.ts';
export { gatewayConfigSchema, type GatewayConfig } from './config.ts';
export { SloReporter, SloWindow, percentile, type RequestTiming, type SloReporterOptions } from './slo-reporter.ts';
