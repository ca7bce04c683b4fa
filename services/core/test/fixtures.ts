/**
 * One realistic value per wire message, keyed like `wire`. Used by the codec tests; the type makes a
 * new entry in `wire` without a fixture a compile error.
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  ErrorCode,
  FinishReason,
  KvAbortReason,
  KvDtype,
  KvTransportKind,
  RequestPhase,
  WorkerRole,
  WorkerState,
  type wire,
} from '../src/index.ts';

type Fixtures = { [K in keyof typeof wire]: MessageInitShape<(typeof wire)[K]['schema']> };

const sampling = { temperature: 0.8, topP: 0.95, topK: 40, seed: 1234, maxTokens: 64, stopTokenIds: [2, 32000], logprobs: 2 };
const token = { tokenId: 42, logprob: -0.25, topLogprobs: [{ tokenId: 42, logprob: -0.25 }, { tokenId: 7, logprob: -1.5 }] };
const hashes = ['269d55d70d18af5d', '51969ec6bd16407e'];

export const fixtures: Fixtures = {
  workerHeartbeat: {
    worker: {
      workerId: 'decode-0',
      role: WorkerRole.BOTH,
      model: 'duet-demo',
      capacity: { kvBlocksTotal: 2048, blockSize: 16, maxRunningSeqs: 64, maxBatchTokens: 512, maxModelLen: 4096 },
      kvTransports: [KvTransportKind.NATS, KvTransportKind.TCP],
      kvTcpAddress: '10.0.0.7:7400',
      startedAtUnixMs: 1_700_000_000_000n,
      version: '0.1.0',
    },
    seq: 3n,
    sentAtUnixMs: 1_700_000_001_000n,
    state: WorkerState.READY,
    intervalMs: 1000,
  },
  loadReport: {
    workerId: 'decode-0',
    seq: 9n,
    sentAtUnixMs: 1_700_000_002_000n,
    inflightPrefillTokens: 1024,
    runningSeqs: 3,
    waitingSeqs: 1,
    kvBlocksUsed: 100,
    kvBlocksFree: 1948,
    expertTokens: [{ layer: 0, tokensPerExpert: [5, 0, 12, 3] }],
  },
  kvEventBatch: {
    workerId: 'prefill-0',
    events: [
      { seq: 1n, event: { case: 'stored', value: { hashes, blockSize: 16 } } },
      { seq: 2n, event: { case: 'stored', value: { parentHash: hashes[1], hashes: ['0123456789abcdef'], blockSize: 16 } } },
      { seq: 3n, event: { case: 'removed', value: { hashes: [hashes[0]] } } },
      { seq: 4n, event: { case: 'cleared', value: {} } },
    ],
  },
  kvSnapshotRequest: { requesterId: 'router-0' },
  kvSnapshotResponse: { workerId: 'prefill-0', seq: 4n, blockSize: 16, hashes },
  placementRequest: {
    requestId: 'req-1',
    model: 'duet-demo',
    blockHashes: hashes,
    promptTokens: 40,
    maxTokens: 64,
    excludeWorkerIds: ['decode-9'],
    attempt: 1,
  },
  placementResponse: { result: { case: 'placed', value: { decodeWorkerId: 'decode-0', reason: 'round-robin', expectedCachedTokens: 32 } } },
  prefillRequest: {
    requestId: 'req-1',
    model: 'duet-demo',
    promptTokenIds: [1, 2, 3, 4, 5],
    sampling,
    hashSalt: 'tenant-a',
    decodeWorkerId: 'decode-0',
    transferId: 'xfer-1',
    transport: KvTransportKind.NATS,
    transferTimeoutMs: 5000,
  },
  prefillResult: {
    requestId: 'req-1',
    firstToken: token,
    promptTokens: 5,
    cachedTokens: 0,
    transferredTokens: 5,
    expertHistogram: [{ layer: 1, tokensPerExpert: [2, 3] }],
  },
  decodeRequest: {
    requestId: 'req-1',
    model: 'duet-demo',
    promptTokenIds: [1, 2, 3, 4, 5],
    sampling,
    hashSalt: 'tenant-a',
    prefillWorkerId: 'prefill-0',
    transferId: 'xfer-1',
    transport: KvTransportKind.TCP,
    transferTimeoutMs: 5000,
    generated: [token],
  },
  runAck: { requestId: 'req-1', workerId: 'decode-0', accepted: false, error: { code: ErrorCode.NO_CAPACITY, message: 'full', param: '' } },
  tokenChunk: {
    requestId: 'req-1',
    seq: 7,
    tokens: [token, { tokenId: 2 }],
    finishReason: FinishReason.STOP,
    usage: { promptTokens: 5, completionTokens: 8, cachedTokens: 4 },
    workerId: 'decode-0',
  },
  cancelRequest: { requestId: 'req-1', reason: 'client disconnected' },
  kvTransferOffer: {
    transferId: 'xfer-1',
    requestId: 'req-1',
    senderWorkerId: 'prefill-0',
    layout: { numLayers: 8, numKvHeads: 4, headDim: 64, dtype: KvDtype.F32, blockSize: 16 },
    promptTokens: 40,
    blockHashes: hashes,
    maxChunkBytes: 262144,
    timeoutMs: 5000,
    transport: KvTransportKind.NATS,
  },
  kvTransferReply: {
    result: { case: 'accept', value: { transferId: 'xfer-1', receiverWorkerId: 'decode-0', cachedTokens: 16, initialCredits: 8 } },
  },
  kvChunk: { transferId: 'xfer-1', seq: 3, layer: 2, tokenStart: 16, tokenEnd: 32, checksum: 0xcbf43926, payload: Uint8Array.of(1, 2, 3) },
  kvCredit: { transferId: 'xfer-1', credits: 4, receivedSeq: 3 },
  kvTransferControl: {
    transferId: 'xfer-1',
    msg: { case: 'abort', value: { reason: KvAbortReason.CHECKSUM_MISMATCH, message: 'chunk 3: crc mismatch' } },
  },
  requestEventBatch: {
    workerId: 'prefill-0',
    events: [
      {
        requestId: 'req-1',
        workerId: 'prefill-0',
        phase: RequestPhase.PREFILL_DONE,
        promptTokens: 40,
        expertHistogram: [{ layer: 0, tokensPerExpert: [30, 10, 0, 40] }],
        blockHashes: hashes,
        sentAtUnixMs: 1_700_000_002_000n,
      },
      { requestId: 'req-0', workerId: 'prefill-0', phase: RequestPhase.FINISHED, promptTokens: 12, generatedTokens: 9, sentAtUnixMs: 1_700_000_002_001n },
    ],
  },
  sloReport: {
    sourceId: 'gateway-0',
    seq: 7n,
    sentAtUnixMs: 1_700_000_003_000n,
    windowMs: 5000,
    finishedRequests: 12,
    ttftMeanMs: 310.5,
    ttftP90Ms: 820.25,
    tpotMeanMs: 41.5,
    tpotP90Ms: 60.75,
    queuedRequests: 2,
    inflightRequests: 9,
  },
  policyUpdate: {
    kind: 'RoutingPolicy',
    name: 'default',
    generation: 3n,
    documentJson: '{"apiVersion":"duet.dev/v1alpha1","kind":"RoutingPolicy","metadata":{"name":"default"},"spec":{}}',
  },
  workerControlRequest: { requesterId: 'autoscaler-0', drain: true, deadlineMs: 600_000 },
  workerControlReply: { workerId: 'decode-1', state: WorkerState.DRAINING, inflight: 3, drained: false, cancelledAtDeadline: 0 },
};
