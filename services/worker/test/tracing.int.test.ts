/**
 * Spans of the disaggregated path (in-memory exporter): prefill.run, kv.transfer (sender and
 * receiver) and decode.run all belong to the trace whose context the request's NATS headers
 * carried, and the run spans are children of the caller's span.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { getTracer, initTracing, injectTraceHeaders } from '@duet/core';
import { uniqueSubjects, withServers } from '@duet/testkit';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { context, trace } from '@opentelemetry/api';
import { connect, type NatsConnection } from 'nats';
import type { Worker } from '../src/index.ts';
import { GREEDY, eventually, modelDir, promptOf, runRequest, startWorker } from './helpers.ts';

const servers = withServers();
const exporter = new InMemorySpanExporter();
const provider = initTracing({ serviceName: 'worker-test', exporter });

describe('tracing across prefill → transfer → decode', () => {
  const subjects = uniqueSubjects();
  let model: Awaited<ReturnType<typeof modelDir>>;
  let prefill: Worker;
  let decode: Worker;
  let nc: NatsConnection;

  before(async () => {
    model = await modelDir('llama');
    nc = await connect({ servers: servers.nats.url });
    const base = { natsUrl: servers.nats.url, subjects, modelDir: model.dir };
    [prefill, decode] = await Promise.all([startWorker(base, { role: 'prefill' }), startWorker(base, { role: 'decode' })]);
  });
  after(async () => {
    await Promise.all([prefill.stop(), decode.stop()]);
    await nc.drain();
    await model.cleanup();
  });

  test('run spans are children of the gateway span; all share its trace id', async () => {
    const root = getTracer('test').startSpan('gateway.request');
    const headers = injectTraceHeaders(trace.setSpan(context.active(), root));
    const r = await runRequest(nc, subjects, { promptIds: promptOf(12, 70), sampling: GREEDY, decodeWorkerId: decode.config.workerId, prefillWorkerId: prefill.config.workerId, headers });
    assert.equal(r.tokens.length, 8);
    root.end();
    const traceId = root.spanContext().traceId;
    await eventually(() => exporter.getFinishedSpans().filter((s) => s.name === 'decode.run').length > 0, 2000, 'decode.run ended');
    await provider.forceFlush();
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const names = spans.map((s) => s.name).sort();
    assert.deepEqual(names, ['decode.run', 'gateway.request', 'kv.transfer', 'kv.transfer', 'prefill.run']);
    for (const name of ['prefill.run', 'decode.run']) {
      assert.equal(spans.find((s) => s.name === name)?.parentSpanContext?.spanId, root.spanContext().spanId, `${name} is a child of the caller`);
    }
  });
});
