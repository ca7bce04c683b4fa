/**
 * The gateway's NATS backend feeds the SLO reporter, and the reporter publishes SloReport on
 * duet.slo.<gatewayId> every interval over a real nats-server (responders play router + worker).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'nats';
import { FinishReason, createLogger, wire, type SloReport } from '@duet/core';
import { uniqueSubjects, withServers } from '@duet/testkit';
import { NatsBackend, SloReporter, type BackendRequest } from '../src/index.ts';

const servers = withServers();
const silent = createLogger('gateway', { level: 'silent' });

test('requests through NatsBackend appear in the next SloReport on duet.slo.<id>', async () => {
  const nc = await connect({ servers: servers.nats.url });
  const s = uniqueSubjects();
  const slo = new SloReporter({ gatewayId: 'gw-a', intervalMs: 100 });
  const backend = new NatsBackend(nc, { subjects: s, logger: silent, placementTimeoutMs: 500, runAckTimeoutMs: 500, stallTimeoutMs: 1000, transferTimeoutMs: 1000, transport: 'nats', slo });
  nc.subscribe(s.routerPlace(), { callback: (_e, m) => m.respond(wire.placementResponse.encode({ result: { case: 'placed', value: { decodeWorkerId: 'd1', reason: 'test' } } })) });
  nc.subscribe(s.decodeRun('d1'), {
    callback: (_e, m) => {
      const r = wire.decodeRequest.decode(m.data);
      m.respond(wire.runAck.encode({ requestId: r.requestId, workerId: 'd1', accepted: true }));
      for (let seq = 0; seq < 3; seq++) {
        const last = seq === 2;
        nc.publish(s.tokens(r.requestId), wire.tokenChunk.encode({ requestId: r.requestId, seq, workerId: 'd1', tokens: [{ tokenId: 10 + seq }], finishReason: last ? FinishReason.LENGTH : FinishReason.UNSPECIFIED, ...(last ? { usage: { promptTokens: 3, completionTokens: 3 } } : {}) }));
      }
    },
  });
  const reports: SloReport[] = [];
  nc.subscribe(s.allSlo(), { callback: (_e, m) => reports.push(wire.sloReport.decode(m.data)) });
  await nc.flush();
  const req = (id: string): BackendRequest => ({ requestId: id, model: 'm', promptIds: [1, 2, 3], hashSalt: '', blockHashes: [], sampling: { temperature: 0, topP: 1, seed: 1, maxTokens: 3, stopTokenIds: [], logprobs: null } });
  for (const id of ['a', 'b', 'c']) for await (const ev of backend.generate(req(id), new AbortController().signal)) assert.notEqual(ev.type, 'error');
  slo.start(nc, s, silent);
  const t0 = Date.now();
  while (!reports.some((r) => r.finishedRequests > 0) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
  slo.stop();
  const rep = reports.find((r) => r.finishedRequests > 0);
  assert.ok(rep, 'a report with the finished requests arrived');
  assert.equal(rep.sourceId, 'gw-a');
  assert.equal(rep.finishedRequests, 3);
  assert.ok(rep.ttftP90Ms >= rep.ttftMeanMs && rep.ttftP90Ms < 5000, `ttft p90 ${rep.ttftP90Ms}`);
  assert.equal(rep.inflightRequests, 0);
  await nc.close();
});
