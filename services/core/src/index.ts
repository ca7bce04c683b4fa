/**
 * Public entry of @duet/core: NATS subjects, the protobuf wire messages (generated from proto/duet/v1
 * into gen/, never edited by hand), their codecs, trace-context headers, and typed errors.
 */
export { DuetError, InvalidSubjectError, PayloadTooLargeError, WireDecodeError, type DuetErrorCode } from './errors.ts';
export {
  DEFAULT_SUBJECT_PREFIX,
  MAX_SUBJECT_TOKEN_LENGTH,
  Subjects,
  subjectToken,
  type TransferSubjects,
} from './subjects.ts';
export { wire, wireCodec, type EncodeOptions, type WireCodec, type WireMessageName } from './codec.ts';
export { TRACE_HEADER_NAMES, traceCarrier, traceHeaders, type TraceCarrier } from './trace-context.ts';
export { DEFAULT_KV_CHUNK_BYTES, NATS_DEFAULT_MAX_PAYLOAD_BYTES, crc32, crc32Js, tokensPerChunk } from './kv-chunk.ts';
export {
  type WireError,
  WireErrorSchema,
  type SamplingParams,
  SamplingParamsSchema,
  type TokenLogprob,
  TokenLogprobSchema,
  type GeneratedToken,
  GeneratedTokenSchema,
  type Usage,
  UsageSchema,
  type ExpertLayerLoad,
  ExpertLayerLoadSchema,
  ErrorCode,
  KvTransportKind,
} from './gen/duet/v1/common_pb.ts';
export {
  type WorkerCapacity,
  WorkerCapacitySchema,
  type WorkerInfo,
  WorkerInfoSchema,
  type WorkerHeartbeat,
  WorkerHeartbeatSchema,
  WorkerRole,
  WorkerState,
} from './gen/duet/v1/worker_pb.ts';
export {
  type KvBlocksStored,
  KvBlocksStoredSchema,
  type KvBlocksRemoved,
  KvBlocksRemovedSchema,
  type KvAllCleared,
  KvAllClearedSchema,
  type KvEvent,
  KvEventSchema,
  type KvEventBatch,
  KvEventBatchSchema,
  type KvSnapshotRequest,
  KvSnapshotRequestSchema,
  type KvSnapshotResponse,
  KvSnapshotResponseSchema,
} from './gen/duet/v1/kv_events_pb.ts';
export {
  type PlacementRequest,
  PlacementRequestSchema,
  type Placement,
  PlacementSchema,
  type NoCapacity,
  NoCapacitySchema,
  type PlacementResponse,
  PlacementResponseSchema,
} from './gen/duet/v1/placement_pb.ts';
export {
  type PrefillRequest,
  PrefillRequestSchema,
  type PrefillResult,
  PrefillResultSchema,
  type DecodeRequest,
  DecodeRequestSchema,
  type RunAck,
  RunAckSchema,
  type CancelRequest,
  CancelRequestSchema,
} from './gen/duet/v1/run_pb.ts';
export {
  type TokenChunk,
  TokenChunkSchema,
  FinishReason,
} from './gen/duet/v1/tokens_pb.ts';
export {
  type LoadReport,
  LoadReportSchema,
} from './gen/duet/v1/load_pb.ts';
export {
  type RequestEvent,
  RequestEventSchema,
  type RequestEventBatch,
  RequestEventBatchSchema,
  RequestPhase,
} from './gen/duet/v1/request_events_pb.ts';
export { type SloReport, SloReportSchema } from './gen/duet/v1/slo_pb.ts';
export { type PolicyUpdate, PolicyUpdateSchema } from './gen/duet/v1/policy_pb.ts';
export {
  type WorkerControlRequest,
  WorkerControlRequestSchema,
  type WorkerControlReply,
  WorkerControlReplySchema,
} from './gen/duet/v1/control_pb.ts';
export {
  type KvLayout,
  KvLayoutSchema,
  type KvTransferOffer,
  KvTransferOfferSchema,
  type KvTransferAccept,
  KvTransferAcceptSchema,
  type KvTransferReject,
  KvTransferRejectSchema,
  type KvTransferReply,
  KvTransferReplySchema,
  type KvChunk,
  KvChunkSchema,
  type KvCredit,
  KvCreditSchema,
  type KvTransferComplete,
  KvTransferCompleteSchema,
  type KvTransferAbort,
  KvTransferAbortSchema,
  type KvTransferControl,
  KvTransferControlSchema,
  KvDtype,
  KvAbortReason,
} from './gen/duet/v1/kv_transfer_pb.ts';
export { createLogger, type Logger } from './runtime/logger.ts';
export { extractTraceContext, getTracer, initTracing, injectTraceHeaders, inSpan, type TracingOptions } from './runtime/tracing.ts';
export { createRegistry, metricName, serveMetrics } from './runtime/metrics.ts';
export { connectNats, requestTyped, type NatsOptions } from './runtime/nats-client.ts';
export { ConfigError, parseServiceConfig } from './runtime/config.ts';
