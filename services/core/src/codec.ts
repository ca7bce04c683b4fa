/**
 * Encoding of wire messages to NATS payloads and back. One codec per message type, all in the
 * `wire` table below, so a service never calls toBinary/fromBinary itself and every malformed
 * payload surfaces as the same typed WireDecodeError (never a half-filled message).
 */
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import { PayloadTooLargeError, WireDecodeError } from './errors.ts';
import { CancelRequestSchema, DecodeRequestSchema, PrefillRequestSchema, PrefillResultSchema, RunAckSchema } from './gen/duet/v1/run_pb.ts';
import { KvEventBatchSchema, KvSnapshotRequestSchema, KvSnapshotResponseSchema } from './gen/duet/v1/kv_events_pb.ts';
import {
  KvChunkSchema,
  KvCreditSchema,
  KvTransferControlSchema,
  KvTransferOfferSchema,
  KvTransferReplySchema,
} from './gen/duet/v1/kv_transfer_pb.ts';
import { LoadReportSchema } from './gen/duet/v1/load_pb.ts';
import { PlacementRequestSchema, PlacementResponseSchema } from './gen/duet/v1/placement_pb.ts';
import { TokenChunkSchema } from './gen/duet/v1/tokens_pb.ts';
import { RequestEventBatchSchema } from './gen/duet/v1/request_events_pb.ts';
import { SloReportSchema } from './gen/duet/v1/slo_pb.ts';
import { PolicyUpdateSchema } from './gen/duet/v1/policy_pb.ts';
import { WorkerHeartbeatSchema } from './gen/duet/v1/worker_pb.ts';
import { WorkerControlReplySchema, WorkerControlRequestSchema } from './gen/duet/v1/control_pb.ts';

export interface EncodeOptions {
  /** Refuse to return more bytes than this (e.g. the server's max_payload): fail here, named. */
  maxBytes?: number;
}

export interface WireCodec<Desc extends DescMessage> {
  /** Fully qualified protobuf name, e.g. 'duet.v1.TokenChunk'. */
  readonly typeName: string;
  readonly schema: Desc;
  /** Accepts a full message or a partial init object (missing fields take proto3 defaults). */
  encode(message: MessageInitShape<Desc>, options?: EncodeOptions): Uint8Array;
  /** Throws WireDecodeError on bytes that are not a valid encoding. */
  decode(bytes: Uint8Array): MessageShape<Desc>;
}

export function wireCodec<Desc extends DescMessage>(schema: Desc): WireCodec<Desc> {
  const typeName = schema.typeName;
  return {
    typeName,
    schema,
    encode(message, options = {}) {
      const bytes = toBinary(schema, create(schema, message));
      if (options.maxBytes !== undefined && bytes.byteLength > options.maxBytes) {
        throw new PayloadTooLargeError(typeName, bytes.byteLength, options.maxBytes);
      }
      return bytes;
    },
    decode(bytes) {
      try {
        return fromBinary(schema, bytes);
      } catch (cause) {
        throw new WireDecodeError(typeName, bytes.byteLength, { cause });
      }
    },
  };
}

/**
 * Every message that crosses NATS, by role. The subject each travels on is in subjects.ts and
 * docs/wire.md.
 */
export const wire = {
  workerHeartbeat: wireCodec(WorkerHeartbeatSchema),
  loadReport: wireCodec(LoadReportSchema),
  kvEventBatch: wireCodec(KvEventBatchSchema),
  kvSnapshotRequest: wireCodec(KvSnapshotRequestSchema),
  kvSnapshotResponse: wireCodec(KvSnapshotResponseSchema),
  placementRequest: wireCodec(PlacementRequestSchema),
  placementResponse: wireCodec(PlacementResponseSchema),
  prefillRequest: wireCodec(PrefillRequestSchema),
  prefillResult: wireCodec(PrefillResultSchema),
  decodeRequest: wireCodec(DecodeRequestSchema),
  runAck: wireCodec(RunAckSchema),
  tokenChunk: wireCodec(TokenChunkSchema),
  cancelRequest: wireCodec(CancelRequestSchema),
  kvTransferOffer: wireCodec(KvTransferOfferSchema),
  kvTransferReply: wireCodec(KvTransferReplySchema),
  kvChunk: wireCodec(KvChunkSchema),
  kvCredit: wireCodec(KvCreditSchema),
  kvTransferControl: wireCodec(KvTransferControlSchema),
  requestEventBatch: wireCodec(RequestEventBatchSchema),
  sloReport: wireCodec(SloReportSchema),
  policyUpdate: wireCodec(PolicyUpdateSchema),
  workerControlRequest: wireCodec(WorkerControlRequestSchema),
  workerControlReply: wireCodec(WorkerControlReplySchema),
} as const;

export type WireMessageName = keyof typeof wire;
