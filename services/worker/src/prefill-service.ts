/**
 * The prefill role's NATS side: PrefillRequest → PrefillResult on duet.prefill.<id>.run. The
 * reply comes once the prompt is prefilled and its KV transfer has settled (it reports how many
 * tokens moved); failures are in PrefillResult.error, and the decode worker then prefills locally.
 */
import { ErrorCode, extractTraceContext, wire } from '@duet/core';
import type { Msg, Subscription } from 'nats';
import type { WorkerContext } from './context.ts';
import { PrefillRun, type PrefillResultInit } from './prefill-run.ts';
import { refusalOf } from './wire-map.ts';

export class PrefillService {
  private sub: Subscription | null = null;

  constructor(private readonly ctx: WorkerContext) {}

  start(): void {
    const { nc, subjects, config, logger } = this.ctx;
    this.sub = nc.subscribe(subjects.prefillRun(config.workerId), {
      callback: (err, msg) => {
        if (err) return logger.warn({ err }, 'prefill subscription error');
        this.onRequest(msg);
      },
    });
  }

  stop(): void {
    this.sub?.unsubscribe();
    this.sub = null;
  }

  private reply(msg: Msg, result: PrefillResultInit): void {
    try {
      if (!this.ctx.nc.isClosed()) msg.respond(wire.prefillResult.encode(result));
    } catch (err) {
      this.ctx.logger.warn({ requestId: result.requestId, err }, 'prefill reply failed');
    }
  }

  private onRequest(msg: Msg): void {
    let req;
    try {
      req = wire.prefillRequest.decode(msg.data);
    } catch (err) {
      return this.reply(msg, { error: { code: ErrorCode.INVALID_REQUEST, message: (err as Error).message } });
    }
    const requestId = req.requestId;
    const refusal = refusalOf(this.ctx, req.model);
    if (refusal) return this.reply(msg, { requestId, error: refusal });
    const run = new PrefillRun(this.ctx, req, extractTraceContext(msg.headers));
    const key = `prefill:${requestId}`;
    this.ctx.work.add(key, () => run.cancel());
    void run
      .run()
      .then((result) => {
        this.ctx.events.prefillDone(requestId, req.promptTokenIds, req.hashSalt, result.expertHistogram ?? []);
        this.reply(msg, result);
      })
      .finally(() => this.ctx.work.done(key));
  }
}
