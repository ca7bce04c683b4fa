/** Both servers up at once, used through the real clients: what every integration test relies on. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from 'nats';
import { Redis } from 'ioredis';
import { FinishReason, traceCarrier, traceHeaders, wire } from '@duet/core';
import { RESERVED_PORTS, uniqueKeyPrefix, uniqueSubjects, withServers } from '../src/index.ts';

void describe('withServers: NATS and Redis', () => {
  const servers = withServers({ nats: { maxPayloadBytes: 2 * 1024 * 1024 }, redis: true });
  let nc: NatsConnection;
  before(async () => {
    nc = await connect({ servers: servers.nats.url });
  });
  after(async () => {
    await nc.close();
  });

  void it('runs on free ports, never the machine-wide 4222 / 6379', () => {
    for (const p of [servers.nats.port, servers.nats.monitorPort, servers.redis.port]) assert.ok(!RESERVED_PORTS.has(p), `port ${p}`);
    assert.match(servers.nats.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(servers.redis.url, `redis://127.0.0.1:${servers.redis.port}`);
  });

  void it('honours the NATS options (max_payload)', () => {
    assert.equal(nc.info?.max_payload, 2 * 1024 * 1024);
  });

  void it('NATS pub/sub carries a wire message and its trace headers', async () => {
    const subjects = uniqueSubjects();
    const sub = nc.subscribe(subjects.tokens('req-1'), { max: 1 });
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    nc.publish(subjects.tokens('req-1'), wire.tokenChunk.encode({ requestId: 'req-1', seq: 0, finishReason: FinishReason.STOP }), {
      headers: traceHeaders({ traceparent }),
    });
    for await (const m of sub) {
      assert.equal(wire.tokenChunk.decode(m.data).finishReason, FinishReason.STOP);
      assert.deepEqual(traceCarrier(m.headers), { traceparent });
    }
  });

  void it('NATS request/reply round trip', async () => {
    const subjects = uniqueSubjects();
    const sub = nc.subscribe(subjects.routerPlace());
    const served = (async () => {
      for await (const m of sub) {
        const req = wire.placementRequest.decode(m.data);
        m.respond(wire.placementResponse.encode({ result: { case: 'placed', value: { decodeWorkerId: `d-for-${req.requestId}` } } }));
      }
    })();
    const reply = await nc.request(subjects.routerPlace(), wire.placementRequest.encode({ requestId: 'r7' }), { timeout: 2000 });
    const res = wire.placementResponse.decode(reply.data);
    assert.equal(res.result.case === 'placed' && res.result.value.decodeWorkerId, 'd-for-r7');
    sub.unsubscribe();
    await served;
  });

  void it('unique subjects isolate tests sharing one server', async () => {
    const [a, b] = [uniqueSubjects(), uniqueSubjects()];
    assert.notEqual(a.prefix, b.prefix);
    const seenByB: string[] = [];
    let sawEnd!: () => void;
    const ended = new Promise<void>((resolve) => (sawEnd = resolve));
    const subB = nc.subscribe(b.all(), {
      callback: (_err, m) => {
        seenByB.push(m.subject);
        if (m.subject === b.tokens('end')) sawEnd();
      },
    });
    nc.publish(a.cancel('x'));
    nc.publish(b.cancel('y'));
    // One connection's messages arrive in publish order: once the sentinel is in, anything of a's
    // that leaked into b's subscription would already be here.
    nc.publish(b.tokens('end'));
    await ended;
    subB.unsubscribe();
    assert.deepEqual(seenByB, [b.cancel('y'), b.tokens('end')]);
  });

  void it('Redis SET/GET through ioredis with a unique key prefix', async () => {
    const prefixA = uniqueKeyPrefix();
    const prefixB = uniqueKeyPrefix();
    assert.notEqual(prefixA, prefixB);
    const a = new Redis(servers.redis.url, { keyPrefix: prefixA, lazyConnect: true });
    const b = new Redis(servers.redis.url, { keyPrefix: prefixB, lazyConnect: true });
    try {
      await Promise.all([a.connect(), b.connect()]);
      await a.set('k', 'from-a');
      await b.set('k', 'from-b');
      assert.equal(await a.get('k'), 'from-a');
      assert.equal(await b.get('k'), 'from-b');
      assert.deepEqual((await a.keys('*')).sort(), [`${prefixA}k`, `${prefixB}k`].sort());
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });
});
