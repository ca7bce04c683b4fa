/**
 * One PrefillRequest on a prefill worker:
 *
 *   submit(holdKv, maxTokens 1) ──steps──▶ onLayerStored ─▶ EngineKvSource ─▶ transport.send ─▶ decode worker
 *                               └─first token─▶ source.end(first) ─▶ KvTransferComplete{first}
 *   transfer settles (ok / failed / deadline) ─▶ release the held KV ─▶ reply PrefillResult
 *
 * The transport releases the source exactly once on every path, and the transfer's deadline bounds
 * it; the run releases again after the prefill ends (a transfer that failed while the prompt was
 * still computing released nothing, since the KV was not held yet). No blocks are stranded.
 */
import { KvDtype, KvTransferOfferSchema, KvTransportKind, type KvTransferOffer, type PrefillRequest, type PrefillResultSchema } from '@duet/core';
import { hashPromptBlocks, type LoopEvent, type SampledToken, type StepResult } from '@duet/engine';
import type { FirstToken, KvSource, TransferResult } from '@duet/kv-transfer';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { trace, type Context } from '@opentelemetry/api';
import type { WorkerContext } from './context.ts';
import { errorToWire, samplingFromWire, tokenToWire } from './wire-map.ts';

export type PrefillResultInit = MessageInitShape<typeof PrefillResultSchema>;

/** Engine id of a prefill-side request (distinct from a decode-side one in a `both` worker). */
export const prefillEngineId = (id: string): string => `${id}~prefill`;

/** The engine's first token as the transfer carries it (with its top alternatives). */
function firstTokenOf(t: SampledToken): FirstToken {
  return {
    tokenId: t.id,
    ...(t.logprob !== null ? { logprob: t.logprob } : {}),
    ...(t.top && t.top.length > 0 ? { topLogprobs: t.top.map((a) => ({ tokenId: a.id, logprob: a.logprob })) } : {}),
  };
}

export class PrefillRun {
  private readonly engineId: string;
  private readonly abort = new AbortController();
  private experts: number[][] | null = null;
  private fromToken: number | null = null;
  private cancelled = false;

  constructor(
    private readonly ctx: WorkerContext,
    private readonly req: PrefillRequest,
    private readonly parent: Context,
  ) {
    this.engineId = prefillEngineId(req.requestId);
  }

  cancel(): void {
    this.cancelled = true;
    this.abort.abort();
    this.ctx.loop.cancel(this.engineId);
  }

  private offer(): KvTransferOffer {
    const c = this.ctx.engine.model.config;
    const blockSize = this.ctx.engine.options.blockSize;
    const salt = this.req.hashSalt || this.ctx.engine.options.hashSalt;
    return create(KvTransferOfferSchema, {
      transferId: this.req.transferId,
      requestId: this.req.requestId,
      senderWorkerId: this.ctx.config.workerId,
      layout: { numLayers: c.numLayers, numKvHeads: c.numKvHeads, headDim: c.headDim, dtype: KvDtype.F32, blockSize },
      promptTokens: this.req.promptTokenIds.length,
      blockHashes: hashPromptBlocks(this.req.promptTokenIds, blockSize, salt),
      maxChunkBytes: 0,
      timeoutMs: this.req.transferTimeoutMs || this.ctx.config.transferTimeoutMs,
      transport: this.transportKind(),
    });
  }

  private transportKind(): KvTransportKind {
    if (this.req.transport !== KvTransportKind.UNSPECIFIED) return this.req.transport;
    return this.ctx.config.transport === 'tcp' ? KvTransportKind.TCP : KvTransportKind.NATS;
  }

  private onStep = (r: StepResult): void => {
    if (!r.expertCounts) return;
    this.experts ??= r.expertCounts.map((row) => row.map(() => 0));
    r.expertCounts.forEach((row, l) => row.forEach((v, e) => (this.experts![l][e] += v)));
  };

  /** Never rejects: failures come back in PrefillResult.error. */
  async run(): Promise<PrefillResultInit> {
    const span = this.ctx.tracer.startSpan('prefill.run', { attributes: { 'duet.request_id': this.req.requestId } }, this.parent);
    const base = { requestId: this.req.requestId, promptTokens: this.req.promptTokenIds.length };
    const source = this.ctx.tap.source(this.engineId);
    let stream;
    try {
      const sampling = { ...samplingFromWire(this.req.sampling), maxTokens: 1 };
      const salt = this.req.hashSalt ? { salt: this.req.hashSalt } : {};
      stream = this.ctx.loop.submit({ id: this.engineId, promptIds: [...this.req.promptTokenIds], sampling, ignoreEos: true, holdKv: true, ...salt });
    } catch (err) {
      source.release();
      span.end();
      return { ...base, error: errorToWire(err) };
    }
    this.ctx.stepObservers.add(this.onStep);
    const sent = this.send(source, trace.setSpan(this.parent, span));
    try {
      const { first, cached } = await this.consume(stream, source);
      const result = await sent;
      this.ctx.metrics.prefixHitTokens.inc(cached);
      const transferred = result.ok ? base.promptTokens - (this.fromToken ?? 0) : 0;
      if (!result.ok) this.ctx.logger.info({ requestId: this.req.requestId, reason: result.reason, message: result.message }, 'kv transfer failed');
      return { ...base, firstToken: tokenToWire(first), cachedTokens: cached, transferredTokens: transferred, expertHistogram: this.histogram() };
    } catch (err) {
      await sent;
      span.recordException(err as Error);
      return { ...base, error: errorToWire(err) };
    } finally {
      this.ctx.stepObservers.delete(this.onStep);
      this.ctx.engine.release(this.engineId);
      span.end();
    }
  }

  private async send(source: KvSource & { release(): void }, parent: Context): Promise<TransferResult> {
    const transport = this.ctx.transports.get(this.transportKind());
    if (!transport) return (source.release(), { ok: false, reason: 'peer-failed', message: 'transport not available' });
    const span = this.ctx.tracer.startSpan('kv.transfer', { attributes: { 'duet.transfer_id': this.req.transferId, 'duet.side': 'sender' } }, parent);
    const tracking: KvSource = {
      stream: (from, emit) => ((this.fromToken = from), source.stream(from, emit)),
      release: () => source.release(),
    };
    const r = await transport.send(this.req.decodeWorkerId, this.offer(), tracking, this.abort.signal);
    if (r.ok) {
      this.ctx.metrics.transferBytes.inc(r.bytes);
      this.ctx.metrics.transferSeconds.observe(r.seconds);
    }
    span.setAttribute('duet.ok', r.ok);
    span.end();
    return r;
  }

  /** Reads the prefill's stream: ends the source with the first token, or fails it. */
  private async consume(
    stream: AsyncIterable<LoopEvent>,
    source: { end(t: FirstToken): void; fail(err: unknown): void },
  ): Promise<{ first: SampledToken; cached: number }> {
    let first: SampledToken | null = null;
    for await (const ev of stream) {
      if (ev.type === 'tokens' && !first) {
        first = ev.tokens[0];
        source.end(firstTokenOf(first));
      } else if (ev.type === 'error') {
        source.fail(ev.error);
        throw ev.error;
      } else if (ev.type === 'done') {
        if (!first || ev.finishReason === 'abort' || this.cancelled) {
          const err = new Error(`prefill of ${this.req.requestId} was cancelled`);
          source.fail(err);
          throw err;
        }
        return { first, cached: ev.cachedTokens };
      }
    }
    throw new Error(`prefill of ${this.req.requestId} ended without a result`);
  }

  private histogram(): Array<{ layer: number; tokensPerExpert: number[] }> {
    return (this.experts ?? []).map((row, layer) => ({ layer, tokensPerExpert: row }));
  }
}
