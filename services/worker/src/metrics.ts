/**
 * The worker's Prometheus metrics, `duet_<role>_<what>_<unit>` (role: prefill, decode or both).
 * Gauges read the engine at scrape time, so they are never stale and need no bookkeeping.
 */
import { createRegistry, metricName } from '@duet/core';
import type { Engine } from '@duet/engine';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class WorkerMetrics {
  readonly registry: Registry;
  readonly prefixHitTokens: Counter;
  readonly ttft: Histogram;
  readonly interTokenLatency: Histogram;
  readonly transferBytes: Counter;
  readonly transferSeconds: Histogram;
  readonly transferFallbacks: Counter;

  constructor(role: string, engine: () => Engine | null, opts: { defaultMetrics?: boolean } = {}) {
    const r = (this.registry = createRegistry(role, { defaultMetrics: opts.defaultMetrics ?? true }));
    const n = (what: string, unit: string): string => metricName(role, what, unit);
    const gauge = (name: string, help: string, read: (e: Engine) => number): void => {
      new Gauge({ name, help, registers: [r], collect() { const e = engine(); if (e) this.set(read(e)); } });
    };
    gauge(n('queue', 'depth'), 'Requests waiting for the scheduler', (e) => e.stats().waiting);
    gauge(n('running', 'requests'), 'Requests in the running batch', (e) => e.stats().running);
    gauge(n('kv_blocks', 'used'), 'KV blocks referenced by requests', (e) => e.stats().blocks.usedBlocks);
    gauge(n('kv_blocks', 'free'), 'KV blocks free (incl. evictable cached)', (e) => e.stats().blocks.freeBlocks);
    this.prefixHitTokens = new Counter({ name: n('prefix_hit', 'tokens_total'), help: 'Prompt tokens served from the prefix cache', registers: [r] });
    this.ttft = new Histogram({ name: n('ttft', 'seconds'), help: 'Request arrival to first token streamed', buckets: LATENCY_BUCKETS, registers: [r] });
    this.interTokenLatency = new Histogram({ name: n('inter_token_latency', 'seconds'), help: 'Gap between streamed tokens', buckets: LATENCY_BUCKETS, registers: [r] });
    this.transferBytes = new Counter({ name: n('transfer', 'bytes_total'), help: 'KV payload bytes moved (sent or received)', registers: [r] });
    this.transferSeconds = new Histogram({ name: n('transfer', 'seconds'), help: 'Duration of completed KV transfers', buckets: LATENCY_BUCKETS, registers: [r] });
    this.transferFallbacks = new Counter({ name: n('transfer_fallbacks', 'total'), help: 'Transfers that failed and fell back to local prefill', registers: [r] });
  }
}
