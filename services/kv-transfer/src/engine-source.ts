/**
 * Sender-side engine adapter: turns a prefill engine's `onLayerStored` hook into KvSources, so
 * each layer leaves while the next ones compute (README.md, "Streaming").
 *
 *   const tap = new EngineLayerTap();
 *   const engine = await Engine.create(model, opts, tap.hooks);
 *   tap.bind(engine);
 *   const source = tap.source('req-1');        // before addRequest({ holdKv: true, … })
 *   … engine.step() …; source.end({ tokenId }) // once the first token is sampled
 */
import type { Engine, EngineHooks, StoredSpan } from '@duet/engine';
import { KvSliceQueue } from './slice-queue.ts';
import type { FirstToken } from './types.ts';

/** One held request's KV; exports a layer's range the moment it is stored (or later, on replay). */
export class EngineKvSource extends KvSliceQueue {
  private pendingSpans: Array<[layer: number, start: number, end: number]> = [];
  private live = false;

  constructor(
    private readonly engine: Engine,
    private readonly id: string,
    onRelease: () => void,
  ) {
    super(() => {
      engine.release(id);
      onRelease();
    });
  }

  /** Called from the hook: exports now when streaming, else remembers the span for `stream`. */
  stored(layer: number, start: number, end: number): void {
    if (!this.live) return void this.pendingSpans.push([layer, start, end]);
    this.exportRange(layer, start, end);
  }

  private exportRange(layer: number, start: number, end: number): void {
    const from = Math.max(start, this.fromToken);
    if (from >= end) return;
    const { k, v } = this.engine.exportKv(this.id, layer, from, end);
    this.push({ layer, tokenStart: from, tokenEnd: end, k, v });
  }

  override stream(fromToken: number, emit: Parameters<KvSliceQueue['stream']>[1]): Promise<FirstToken> {
    const ended = super.stream(fromToken, emit);
    this.live = true;
    const spans = this.pendingSpans;
    this.pendingSpans = [];
    for (const [layer, start, end] of spans) this.exportRange(layer, start, end);
    return ended;
  }

  /** For KV computed before the source existed: every layer of [0, promptTokens) is ready. */
  allStored(numLayers: number, promptTokens: number): void {
    for (let l = 0; l < numLayers; l++) this.stored(l, 0, promptTokens);
  }
}

/** Routes a prefill engine's onLayerStored spans to the sources of the requests being sent. */
export class EngineLayerTap {
  private engine: Engine | null = null;
  private readonly sources = new Map<string, EngineKvSource>();
  readonly hooks: EngineHooks = { onLayerStored: (layer, spans) => this.onLayerStored(layer, spans) };

  bind(engine: Engine): void {
    this.engine = engine;
  }

  /** A source for request `id`; releasing it frees the engine's held KV. */
  source(id: string): EngineKvSource {
    if (!this.engine) throw new Error('EngineLayerTap.source before bind(engine)');
    const s = new EngineKvSource(this.engine, id, () => this.sources.delete(id));
    this.sources.set(id, s);
    return s;
  }

  private onLayerStored(layer: number, spans: readonly StoredSpan[]): void {
    for (const span of spans) this.sources.get(span.id)?.stored(layer, span.start, span.end);
  }
}
