/**
 * Every NATS subject Duet uses, built here and nowhere else, under one scheme:
 *
 *   <prefix>.<area>.<…>          prefix defaults to 'duet'; tests use e.g. 't1a2b3c.duet'
 *
 * Ids become single subject tokens, so they are validated: a dot would split an id into two tokens
 * and a '*' or '>' would turn a publish target into a wildcard that matches other workers' traffic.
 * docs/wire.md has the table; a test checks that table against this class.
 */
import { InvalidSubjectError } from './errors.ts';

export const DEFAULT_SUBJECT_PREFIX = 'duet';

/** Longest id accepted as one token; NATS has no hard limit, this just catches garbage early. */
export const MAX_SUBJECT_TOKEN_LENGTH = 256;

/**
 * Checks one subject token: printable ASCII without '.', '*', '>' or whitespace. Returns it, so
 * call sites read `${token('workerId', id)}`.
 */
export function subjectToken(part: string, value: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidSubjectError(part, String(value), 'must be a non-empty string');
  if (value.length > MAX_SUBJECT_TOKEN_LENGTH) {
    throw new InvalidSubjectError(part, value.slice(0, 32) + '…', `longer than ${MAX_SUBJECT_TOKEN_LENGTH} characters`);
  }
  if (value.includes('.')) throw new InvalidSubjectError(part, value, "must not contain '.' (it separates subject tokens)");
  if (/[*>]/.test(value)) throw new InvalidSubjectError(part, value, "must not contain the wildcards '*' or '>'");
  if (/\s/.test(value)) throw new InvalidSubjectError(part, value, 'must not contain whitespace');
  if (!/^[\x21-\x7e]+$/.test(value)) throw new InvalidSubjectError(part, value, 'must be printable ASCII');
  return value;
}

/** The three subjects of one KV transfer. */
export interface TransferSubjects {
  /** Sender → receiver: KvChunk. */
  data: string;
  /** Receiver → sender: KvCredit. */
  credit: string;
  /** Either way: KvTransferControl (complete / abort). */
  ctl: string;
}

export class Subjects {
  readonly prefix: string;

  /** `prefix` is one or more dot-separated tokens, e.g. 'duet' or 't1234.duet'. */
  constructor(prefix: string = DEFAULT_SUBJECT_PREFIX) {
    if (typeof prefix !== 'string' || prefix.length === 0) throw new InvalidSubjectError('prefix', String(prefix), 'must be a non-empty string');
    prefix.split('.').forEach((t) => subjectToken('prefix', t));
    this.prefix = prefix;
  }

  // ── workers ──────────────────────────────────────────────────────────────────────────────
  /** WorkerHeartbeat, published by the worker every interval (registration = first beat). */
  workerHeartbeat(workerId: string): string {
    return `${this.prefix}.workers.heartbeat.${subjectToken('workerId', workerId)}`;
  }
  /** Subscribe: every worker's heartbeats. */
  allWorkerHeartbeats(): string {
    return `${this.prefix}.workers.heartbeat.*`;
  }
  /** LoadReport, pushed by the worker. */
  load(workerId: string): string {
    return `${this.prefix}.load.${subjectToken('workerId', workerId)}`;
  }
  allLoads(): string {
    return `${this.prefix}.load.*`;
  }
  /** Request WorkerControlRequest → reply WorkerControlReply (drain, status), served by the worker. */
  workerControl(workerId: string): string {
    return `${this.prefix}.workers.control.${subjectToken('workerId', workerId)}`;
  }

  // ── KV events ────────────────────────────────────────────────────────────────────────────
  /** KvEventBatch, published by the worker. */
  kvEvents(workerId: string): string {
    return `${this.prefix}.kv.events.${subjectToken('workerId', workerId)}`;
  }
  allKvEvents(): string {
    return `${this.prefix}.kv.events.*`;
  }
  /** Request KvSnapshotRequest → reply KvSnapshotResponse, served by the worker. */
  kvSnapshot(workerId: string): string {
    return `${this.prefix}.kv.snapshot.${subjectToken('workerId', workerId)}`;
  }

  // ── request lifecycle, SLOs, policies ────────────────────────────────────────────────────
  /** RequestEventBatch (prefill done / finished / rejected), published by the worker. */
  requestEvents(workerId: string): string {
    return `${this.prefix}.requests.events.${subjectToken('workerId', workerId)}`;
  }
  /** Subscribe (every router replica): every worker's request events. */
  allRequestEvents(): string {
    return `${this.prefix}.requests.events.*`;
  }
  /** SloReport, published by a gateway every interval. */
  slo(sourceId: string): string {
    return `${this.prefix}.slo.${subjectToken('sourceId', sourceId)}`;
  }
  /** Subscribe (planner): every gateway's SLO reports. */
  allSlo(): string {
    return `${this.prefix}.slo.*`;
  }
  /** PolicyUpdate carrying the effective RoutingPolicy; every router replica subscribes. */
  routingPolicy(): string {
    return `${this.prefix}.policy.routing`;
  }

  // ── placement and work ───────────────────────────────────────────────────────────────────
  /** Request PlacementRequest → reply PlacementResponse; router replicas share it as a queue group. */
  routerPlace(): string {
    return `${this.prefix}.router.place`;
  }
  /** Request PrefillRequest → reply PrefillResult. */
  prefillRun(workerId: string): string {
    return `${this.prefix}.prefill.${subjectToken('workerId', workerId)}.run`;
  }
  /** Request DecodeRequest → reply RunAck. */
  decodeRun(workerId: string): string {
    return `${this.prefix}.decode.${subjectToken('workerId', workerId)}.run`;
  }
  /** Request KvTransferOffer → reply KvTransferReply, served by the receiving (decode) worker. */
  kvOffer(workerId: string): string {
    return `${this.prefix}.decode.${subjectToken('workerId', workerId)}.kv-offer`;
  }

  // ── per request ──────────────────────────────────────────────────────────────────────────
  /** TokenChunk stream from the decode worker to the gateway. */
  tokens(requestId: string): string {
    return `${this.prefix}.tokens.${subjectToken('requestId', requestId)}`;
  }
  /** CancelRequest, published by the gateway. */
  cancel(requestId: string): string {
    return `${this.prefix}.cancel.${subjectToken('requestId', requestId)}`;
  }
  /** Subscribe (workers): every cancellation. */
  allCancels(): string {
    return `${this.prefix}.cancel.*`;
  }

  // ── per KV transfer ──────────────────────────────────────────────────────────────────────
  kvxData(transferId: string): string {
    return `${this.prefix}.kvx.${subjectToken('transferId', transferId)}.data`;
  }
  kvxCredit(transferId: string): string {
    return `${this.prefix}.kvx.${subjectToken('transferId', transferId)}.credit`;
  }
  kvxCtl(transferId: string): string {
    return `${this.prefix}.kvx.${subjectToken('transferId', transferId)}.ctl`;
  }
  transfer(transferId: string): TransferSubjects {
    return { data: this.kvxData(transferId), credit: this.kvxCredit(transferId), ctl: this.kvxCtl(transferId) };
  }

  /** Subscribe: everything under this prefix (debug taps, and tests asserting isolation). */
  all(): string {
    return `${this.prefix}.>`;
  }
}
