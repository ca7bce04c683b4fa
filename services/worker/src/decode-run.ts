/**
 * One DecodeRequest on a decode worker, from the RunAck to the final TokenChunk:
 *
 *   local     (no prefill worker)   submit ─▶ stream every token
 *   transfer  (prefill worker set)  beginImport at arrival ─▶ KV arrives ─▶ resumeImported(first) ─▶ stream
 *             any transfer failure (loss, corruption, deadline, no offer in time, dead sender)
 *             ─▶ release the import ─▶ local (counted in transfer_fallbacks_total)
 *   resume    (`generated` given)   local prefill held ─▶ adopt with the generated tokens ─▶ decode
 *
 * `run()` never rejects: every failure ends the stream with FINISH_REASON_ERROR.
 */
import { FinishReason, type DecodeRequest, type KvTransferOffer } from '@duet/core';
import { DEFAULT_SAMPLING, InvalidRequestError, type EngineRequest, type LoopEvent, type SampledToken } from '@duet/engine';
import type { TransferResult } from '@duet/kv-transfer';
import { trace, type Context, type Span } from '@opentelemetry/api';
import type { WorkerContext } from './context.ts';
import { adoptKv, ImportSink, stagingId } from './kv-import.ts';
import { TokenStream } from './token-stream.ts';
import { finishToWire, samplingFromWire, tokenFromWire } from './wire-map.ts';

type Mode = 'local' | 'transfer' | 'resume';

export class DecodeRun {
  readonly id: string;
  readonly transferId: string;
  private readonly req: EngineRequest;
  private readonly out: TokenStream;
  private readonly abort = new AbortController();
  private readonly span: Span;
  private readonly spanCtx: Context;
  private mode: Mode = 'local';
  private localStream: AsyncIterable<LoopEvent> | null = null;
  private stagedCached = 0;
  private sink: ImportSink | null = null;
  private settleTransfer!: (r: Promise<TransferResult> | TransferResult) => void;
  private readonly transfer = new Promise<TransferResult>((r) => (this.settleTransfer = r));
  private cancelled = false;

  constructor(
    private readonly ctx: WorkerContext,
    private readonly msg: DecodeRequest,
    arrivedAt: number,
    parent: Context,
  ) {
    this.id = msg.requestId;
    this.transferId = msg.transferId;
    const sampling = samplingFromWire(msg.sampling);
    this.req = { id: msg.requestId, promptIds: [...msg.promptTokenIds], sampling, ignoreEos: true, ...(msg.hashSalt ? { salt: msg.hashSalt } : {}) };
    this.out = new TokenStream(ctx.nc, ctx.subjects, this.id, ctx.config.workerId, ctx.metrics, arrivedAt);
    this.span = ctx.tracer.startSpan('decode.run', { attributes: { 'duet.request_id': this.id, 'duet.worker_id': ctx.config.workerId } }, parent);
    this.spanCtx = trace.setSpan(parent, this.span);
  }

  private get maxTokens(): number {
    return this.req.sampling?.maxTokens ?? DEFAULT_SAMPLING.maxTokens;
  }

  /** Synchronous admission: throws InvalidRequestError (the RunAck refuses) or reserves what it needs. */
  admit(): void {
    const generated = this.msg.generated;
    if (generated.length > 0) {
      if (generated.length >= this.maxTokens) throw new InvalidRequestError('generated', `${generated.length} tokens already generated of max_tokens ${this.maxTokens}`);
      this.mode = 'resume';
      this.localStream = this.ctx.loop.submit({ ...this.req, id: stagingId(this.id), sampling: { temperature: 0, maxTokens: 1 }, holdKv: true });
    } else if (this.msg.prefillWorkerId && this.transferId && this.maxTokens >= 2) {
      this.stagedCached = this.ctx.engine.beginImport({ ...this.req, generated: [] }).cachedTokens;
      this.sink = new ImportSink(this.ctx.engine, this.id, this.stagedCached);
      this.mode = 'transfer';
    } else {
      this.localStream = this.ctx.loop.submit(this.req);
    }
  }

  /** The sink for this request's KV offer; throws (the offer is rejected) when it no longer waits. */
  sinkFor(offer: KvTransferOffer): ImportSink {
    if (!this.sink || this.cancelled) throw new Error(`request ${this.id} does not expect KV`);
    if (offer.promptTokens !== this.req.promptIds.length) throw new Error(`offer has ${offer.promptTokens} prompt tokens, the request ${this.req.promptIds.length}`);
    return this.sink;
  }

  /** Tokens streamed to the client so far. */
  get generatedTokens(): number {
    return this.out.streamed;
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** The offer server accepted (result pending) or failed to accept (settled failure). */
  attachTransfer(result: Promise<TransferResult> | TransferResult): void {
    this.settleTransfer(result);
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.abort.abort();
    this.settleTransfer({ ok: false, reason: 'cancelled', message: 'request cancelled' });
    this.ctx.loop.cancel(this.id);
    this.ctx.loop.cancel(stagingId(this.id));
    this.ctx.engine.release(stagingId(this.id));
    this.ctx.engine.release(this.id);
  }

  async run(): Promise<void> {
    try {
      if (this.mode === 'transfer') await this.runTransfer();
      else if (this.mode === 'resume') await this.runResume();
      else await this.pump(this.localStream!, null);
    } catch (err) {
      this.ctx.logger.warn({ requestId: this.id, err }, 'decode failed');
      this.span.recordException(err as Error);
      this.out.fail(err);
    } finally {
      this.ctx.engine.release(stagingId(this.id));
      this.ctx.engine.release(this.id); // an import never finished (no-op once it decodes)
      this.span.end();
    }
  }

  private async runTransfer(): Promise<void> {
    const timeoutMs = this.msg.transferTimeoutMs || this.ctx.config.transferTimeoutMs;
    const timer = setTimeout(() => this.settleTransfer({ ok: false, reason: 'deadline', message: `no KV offer within ${timeoutMs} ms` }), timeoutMs);
    const kvSpan = this.ctx.tracer.startSpan('kv.transfer', { attributes: { 'duet.transfer_id': this.transferId, 'duet.side': 'receiver' } }, this.spanCtx);
    const result = await this.transfer;
    clearTimeout(timer);
    this.sink = null; // a late offer for this transfer is refused from now on
    kvSpan.setAttribute('duet.ok', result.ok);
    kvSpan.end();
    if (this.cancelled) return this.finishAborted();
    if (result.ok && result.firstToken) {
      this.ctx.metrics.transferBytes.inc(result.bytes);
      this.ctx.metrics.transferSeconds.observe(result.seconds);
      return this.continueImported(tokenFromWire(result.firstToken));
    }
    this.ctx.metrics.transferFallbacks.inc();
    this.ctx.logger.info({ requestId: this.id, transferId: this.transferId, reason: result.ok ? 'no first token' : result.reason }, 'kv transfer failed; prefilling locally');
    this.ctx.engine.release(this.id);
    this.stagedCached = 0;
    await this.pump(this.ctx.loop.submit(this.req), null);
  }

  /** Every prompt position is imported and the first token is known: stream it and decode on. */
  private async continueImported(first: SampledToken): Promise<void> {
    if (this.req.sampling?.stopTokenIds?.includes(first.id)) {
      this.ctx.engine.release(this.id);
      this.out.tokens([first]);
      return this.out.finish(FinishReason.STOP, this.usage(1));
    }
    const stream = this.ctx.loop.resumeImported({ id: this.id }, [first]);
    this.out.tokens([first]);
    await this.pump(stream, this.stagedCached);
  }

  /** A resumed request: its prompt prefilled here (held), then decoding continues after `generated`. */
  private async runResume(): Promise<void> {
    for await (const ev of this.localStream!) {
      if (ev.type === 'error') throw ev.error;
      if (ev.type === 'done' && ev.finishReason === 'abort') return this.finishAborted();
      if (ev.type === 'done') this.stagedCached = ev.cachedTokens;
    }
    if (this.cancelled) return this.finishAborted();
    const generated = this.msg.generated.map(tokenFromWire);
    adoptKv(this.ctx.engine, stagingId(this.id), { ...this.req, generated });
    await this.pump(this.ctx.loop.resumeImported({ id: this.id }), this.stagedCached);
  }

  private usage(completionTokens: number, promptCached = this.stagedCached): { promptTokens: number; completionTokens: number; cachedTokens: number } {
    return { promptTokens: this.req.promptIds.length, completionTokens, cachedTokens: promptCached };
  }

  private finishAborted(): void {
    this.out.finish(FinishReason.ABORT, this.usage(this.out.streamed));
  }

  /**
   * Streams a loop's events to the client. `importedCached`: for an adopted import, the prompt
   * tokens this worker held before the KV arrived (the engine would report the whole prompt).
   */
  private async pump(stream: AsyncIterable<LoopEvent>, importedCached: number | null): Promise<void> {
    let prefilled = importedCached !== null;
    for await (const ev of stream) {
      if (ev.type === 'tokens') {
        // A local prefill is done at the first token: the routers release its prefill tokens here.
        if (!prefilled) this.ctx.events.prefillDone(this.id, this.req.promptIds, this.req.salt ?? '', []);
        prefilled = true;
        this.out.tokens(ev.tokens);
      } else if (ev.type === 'error') throw ev.error;
      else {
        if (ev.finishReason === 'abort') return this.finishAborted();
        const cached = importedCached ?? ev.cachedTokens;
        this.ctx.metrics.prefixHitTokens.inc(cached);
        this.out.finish(finishToWire(ev.finishReason), this.usage(ev.outputTokens, cached));
      }
    }
    if (!this.out.finished) this.finishAborted();
  }
}
