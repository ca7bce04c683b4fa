/**
 * One trace across every hop of a disaggregated request, with an in-memory exporter: the gateway's
 * request span, its placement span, the router's decision, the prefill run, both ends of the KV
 * transfer and the decode run — all in one trace, each hop a child of the one that called it
 * (context carried in NATS headers). Services run in this process so one exporter sees them all.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { connect, type NatsConnection } from 'nats';
import { createLogger, createRegistry, initTracing } from '@duet/core';
import { createModel } from '@duet/engine';
import { createGatewayApp, loadServedModel, NatsBackend } from '@duet/gateway';
import { Router, resolveRouterConfig } from '@duet/router';
import { resolveWorkerConfig, Worker } from '@duet/worker';
import { uniqueSubjects, withServers } from '@duet/testkit';

let work = '';
let nc: NatsConnection;
let router: Router;
let workers: Worker[] = [];
let server: Server;
let backend: NatsBackend;

// Registered before withServers(): after-hooks run in order, so the services stop while NATS is up.
after(async () => {
  server?.closeAllConnections();
  server?.close();
  await backend?.close();
  await Promise.all(workers.map((w) => w.stop()));
  await router?.stop();
  await nc?.drain();
  await rm(work, { recursive: true, force: true });
});

const servers = withServers();
const exporter = new InMemorySpanExporter();
const provider = initTracing({ serviceName: 'duet-test', exporter });
const silent = createLogger('test', { level: 'silent' });
const subjects = uniqueSubjects();


before(async () => {
  work = await mkdtemp(join(tmpdir(), 'duet-trace-'));
  const dir = join(work, 'tiny-llama');
  await createModel({ arch: 'llama', preset: 'tiny', seed: 3, outDir: dir });
  const common = { natsUrl: servers.nats.url, subjectPrefix: subjects.prefix };
  router = new Router(resolveRouterConfig({ ...common }), { defaultMetrics: false, logger: silent });
  await router.start();
  workers = ['prefill', 'decode'].map((role) => new Worker(resolveWorkerConfig({ ...common, role: role as 'prefill' | 'decode', workerId: `${role}-t`, modelDir: dir, numKvBlocks: 64, heartbeatIntervalMs: 100 }), { defaultMetrics: false, logger: silent }));
  await Promise.all(workers.map((w) => w.start()));
  nc = await connect({ servers: servers.nats.url });
  backend = new NatsBackend(nc, { subjects, logger: silent, placementTimeoutMs: 2000, runAckTimeoutMs: 2000, stallTimeoutMs: 10_000, transferTimeoutMs: 5000, transport: 'nats' });
  backend.start();
  const model = await loadServedModel({ dir }, 16);
  const { app } = createGatewayApp({ backend, models: new Map([[model.id, model]]), logger: silent, registry: createRegistry('gateway', { defaultMetrics: false }) });
  server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  for (let i = 0; i < 100 && !backend.ready(); i++) await new Promise((r) => setTimeout(r, 50)); // first heartbeats
});


test('gateway → router → prefill → transfer → decode is one trace of parent-child spans', async () => {
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tiny-llama', prompt: 'the kernel and the theorem', max_tokens: 4, temperature: 0 }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  await provider.forceFlush();
  for (let i = 0; i < 50 && !exporter.getFinishedSpans().some((s) => s.name === 'decode.run'); i++) await new Promise((r) => setTimeout(r, 20));
  const spans = exporter.getFinishedSpans();
  const root = spans.find((s) => s.name === 'gateway.request');
  assert.ok(root, `spans: ${spans.map((s) => s.name).join(', ')}`);
  const inTrace = spans.filter((s) => s.spanContext().traceId === root.spanContext().traceId);
  const byName = (n: string) => inTrace.filter((s) => s.name === n);
  const parentOf = (n: string) => byName(n)[0]?.parentSpanContext?.spanId;
  assert.deepEqual(inTrace.map((s) => s.name).sort(), ['decode.run', 'gateway.place', 'gateway.request', 'kv.transfer', 'kv.transfer', 'prefill.run', 'router.place']);
  assert.equal(parentOf('gateway.place'), root.spanContext().spanId);
  assert.equal(parentOf('router.place'), byName('gateway.place')[0].spanContext().spanId);
  for (const n of ['prefill.run', 'decode.run']) assert.ok(inTrace.some((s) => s.spanContext().spanId === parentOf(n)), `${n} has its caller in the trace`);
});
