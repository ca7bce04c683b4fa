/** Public entry of @duet/kv-transfer: the KvTransport contract, its NATS and TCP transports, engine adapters. */
export type {
  AcceptedTransfer,
  FirstToken,
  KvSink,
  KvSlice,
  KvSource,
  KvTransport,
  TransferFailure,
  TransferFailureReason,
  TransferResult,
  TransferSuccess,
} from './types.ts';
export { DEFAULT_CREDIT_WINDOW, DEFAULT_DEADLINE_MS, resolveOptions, type KvFaults, type KvObserver, type KvTransferOptions, type KvTransferOptionsInput } from './options.ts';
export { NatsKvTransport } from './nats-transport.ts';
export { TcpKvTransport, type TcpKvTransportOptions } from './tcp-transport.ts';
export { serveKvOffers, type OfferServerOptions } from './offer-server.ts';
export { KvSliceQueue, slicesSource } from './slice-queue.ts';
export { EngineKvSource, EngineLayerTap } from './engine-source.ts';
export { EngineKvSink, toSampled, LayoutMismatchError } from './engine-sink.ts';
