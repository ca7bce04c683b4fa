/** Runtime helpers: config from flags and env, metric names, trace context through NATS headers. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { ConfigError, createRegistry, extractTraceContext, getTracer, initTracing, injectTraceHeaders, metricName, parseServiceConfig, serveMetrics } from '../src/index.ts';

const schema = z.object({
  natsUrl: z.string().default('nats://127.0.0.1:4222'),
  kvCacheMib: z.number().positive().default(256),
  enablePrefixCaching: z.boolean().default(true),
  models: z.array(z.string()).default([]),
});

describe('parseServiceConfig', () => {
  test('defaults, env, and flags (flags win)', () => {
    assert.deepEqual(parseServiceConfig(schema, { argv: [], env: {} }), { natsUrl: 'nats://127.0.0.1:4222', kvCacheMib: 256, enablePrefixCaching: true, models: [] });
    const c = parseServiceConfig(schema, {
      argv: ['--kv-cache-mib', '64', '--enable-prefix-caching=false', '--models', 'a,b'],
      env: { DUET_KV_CACHE_MIB: '32', DUET_NATS_URL: 'nats://x:1' },
    });
    assert.deepEqual(c, { natsUrl: 'nats://x:1', kvCacheMib: 64, enablePrefixCaching: false, models: ['a', 'b'] });
  });

  test('a bad value names its flag and env variable; unknown flags are refused', () => {
    assert.throws(() => parseServiceConfig(schema, { argv: ['--kv-cache-mib', '-1'], env: {} }), (e: Error) => e instanceof ConfigError && /--kv-cache-mib \(DUET_KV_CACHE_MIB\)/.test(e.message));
    assert.throws(() => parseServiceConfig(schema, { argv: ['--nope', '1'], env: {} }), /unknown option --nope/);
  });
});

describe('metrics', () => {
  test('names follow duet_<component>_<what>_<unit>', () => {
    assert.equal(metricName('gateway', 'ttft', 'seconds'), 'duet_gateway_ttft_seconds');
    assert.throws(() => metricName('Gateway', 'ttft', 'seconds'), /lower_snake_case/);
  });

  test('serveMetrics exposes the registry over HTTP', async () => {
    const reg = createRegistry('test', { defaultMetrics: false });
    const { port, server } = await serveMetrics(reg, 0);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      assert.equal(res.status, 200);
      assert.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404);
    } finally {
      server.close();
    }
  });
});

describe('tracing', () => {
  test('a span context survives injection into NATS headers and extraction on the other side', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = initTracing({ serviceName: 'test', exporter });
    const tracer = getTracer('test');
    const parent = tracer.startSpan('gateway.request');
    const headers = injectTraceHeaders(trace.setSpan(context.active(), parent));
    assert.match(headers.get('traceparent'), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const child = tracer.startSpan('decode.run', {}, extractTraceContext(headers));
    child.end();
    parent.end();
    await provider.forceFlush();
    const spans = exporter.getFinishedSpans();
    const c = spans.find((s) => s.name === 'decode.run')!;
    const p = spans.find((s) => s.name === 'gateway.request')!;
    assert.equal(c.spanContext().traceId, p.spanContext().traceId);
    assert.equal(c.parentSpanContext?.spanId, p.spanContext().spanId);
  });
});
