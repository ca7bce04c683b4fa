/**
 * The decode role's NATS side: DecodeRequest → RunAck on duet.decode.<id>.run (at once), and the
 * KV offers of transfers on duet.decode.<id>.kv-offer. An offer may arrive before its
 * DecodeRequest (the gateway sends both at once); it then waits for it, up to its deadline.
 */
import { ErrorCode, KvTransportKind, extractTraceContext, wire, type KvTransferOffer, type WireError } from '@duet/core';
import type { Msg, Subscription } from 'nats';
import type { WorkerContext } from './context.ts';
import { DecodeRun } from './decode-run.ts';
import { errorToWire, refusalOf, type WireErrorInit } from './wire-map.ts';

export class DecodeService {
  /** Runs waiting for (or receiving) KV, by transfer id. */
  private readonly byTransfer = new Map<string, DecodeRun>();
  private readonly offerWaiters = new Map<string, Array<(run: DecodeRun | undefined) => void>>();
  private subs: Subscription[] = [];

  constructor(private readonly ctx: WorkerContext) {}

  start(): void {
    const { nc, subjects, config, logger } = this.ctx;
    const onErr = (err: Error | null): boolean => (err ? (logger.warn({ err }, 'decode subscription error'), true) : false);
    this.subs.push(nc.subscribe(subjects.decodeRun(config.workerId), { callback: (err, msg) => onErr(err) || this.onRequest(msg) }));
    this.subs.push(
      nc.subscribe(subjects.kvOffer(config.workerId), {
        callback: (err, msg) => {
          if (onErr(err)) return;
          this.onOffer(msg).catch((e: unknown) => logger.warn({ err: e }, 'kv offer handling failed'));
        },
      }),
    );
  }

  stop(): void {
    this.subs.forEach((s) => s.unsubscribe());
    this.subs = [];
  }

  private ack(msg: Msg, requestId: string, error?: WireErrorInit): void {
    if (error) this.ctx.events.rejected(requestId);
    const body = wire.runAck.encode({ requestId, workerId: this.ctx.config.workerId, accepted: !error, ...(error ? { error } : {}) });
    msg.respond(body);
  }

  private onRequest(msg: Msg): void {
    const arrivedAt = performance.now();
    let req;
    try {
      req = wire.decodeRequest.decode(msg.data);
    } catch (err) {
      return this.ack(msg, '', { code: ErrorCode.INVALID_REQUEST, message: (err as Error).message });
    }
    const refusal = refusalOf(this.ctx, req.model);
    if (refusal) return this.ack(msg, req.requestId, refusal);
    const run = new DecodeRun(this.ctx, req, arrivedAt, extractTraceContext(msg.headers));
    try {
      run.admit();
    } catch (err) {
      this.ctx.logger.info({ requestId: req.requestId, err: (err as Error).message }, 'decode request refused');
      return this.ack(msg, req.requestId, errorToWire(err));
    }
    const key = `decode:${req.requestId}`;
    this.ctx.work.add(key, () => run.cancel());
    if (req.prefillWorkerId && req.transferId) this.register(run);
    this.ack(msg, req.requestId);
    this.ctx.logger.debug({ requestId: req.requestId, prefillWorkerId: req.prefillWorkerId, transferId: req.transferId }, 'decode request accepted');
    void run.run().finally(() => {
      this.ctx.events.finished(req.requestId, req.promptTokenIds.length, run.generatedTokens);
      if (this.byTransfer.get(run.transferId) === run) this.byTransfer.delete(run.transferId);
      this.ctx.work.done(key);
    });
  }

  private register(run: DecodeRun): void {
    this.byTransfer.set(run.transferId, run);
    this.offerWaiters.get(run.transferId)?.forEach((w) => w(run));
    this.offerWaiters.delete(run.transferId);
  }

  private waitForRun(transferId: string, timeoutMs: number): Promise<DecodeRun | undefined> {
    const known = this.byTransfer.get(transferId);
    if (known) return Promise.resolve(known);
    return new Promise((resolve) => {
      const list = this.offerWaiters.get(transferId) ?? [];
      const timer = setTimeout(() => {
        const rest = (this.offerWaiters.get(transferId) ?? []).filter((w) => w !== wake);
        if (rest.length) this.offerWaiters.set(transferId, rest);
        else this.offerWaiters.delete(transferId);
        resolve(undefined);
      }, timeoutMs);
      const wake = (run: DecodeRun | undefined): void => (clearTimeout(timer), resolve(run));
      list.push(wake);
      this.offerWaiters.set(transferId, list);
    });
  }

  private reject(msg: Msg, transferId: string, error: WireError | WireErrorInit): void {
    msg.respond(wire.kvTransferReply.encode({ result: { case: 'reject', value: { transferId, error } } }));
  }

  private async onOffer(msg: Msg): Promise<void> {
    let offer: KvTransferOffer;
    try {
      offer = wire.kvTransferOffer.decode(msg.data);
    } catch {
      return; // no reply: the sender's deadline ends it
    }
    const kind = offer.transport === KvTransportKind.UNSPECIFIED ? KvTransportKind.NATS : offer.transport;
    const transport = this.ctx.transports.get(kind);
    if (!transport) return this.reject(msg, offer.transferId, { code: ErrorCode.UNAVAILABLE, message: `transport ${KvTransportKind[kind]} not served` });
    const run = await this.waitForRun(offer.transferId, offer.timeoutMs || this.ctx.config.transferTimeoutMs);
    if (!run) return this.reject(msg, offer.transferId, { code: ErrorCode.NOT_FOUND, message: `no request waits for transfer ${offer.transferId}` });
    try {
      const accepted = await transport.accept(offer, run.sinkFor(offer), run.signal);
      msg.respond(wire.kvTransferReply.encode({ result: { case: 'accept', value: { ...accepted.accept, receiverWorkerId: this.ctx.config.workerId } } }));
      run.attachTransfer(accepted.result);
    } catch (err) {
      this.reject(msg, offer.transferId, errorToWire(err));
      run.attachTransfer({ ok: false, reason: 'peer-failed', message: `offer refused: ${(err as Error).message}` });
    }
  }
}
