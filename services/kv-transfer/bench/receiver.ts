/**
 * Child process of kv-transfer-bench.ts: the receiving side of every measurement. Serves Duet
 * offers (NATS and TCP transports) into a sink that only counts bytes, and the raw baselines: a
 * plain NATS subscription and a plain TCP socket that ack once all bytes arrived.
 */
import * as net from 'node:net';
import { Subjects } from '@duet/core';
import { connect } from 'nats';
import { NatsKvTransport } from '../src/nats-transport.ts';
import { serveKvOffers } from '../src/offer-server.ts';
import { TcpKvTransport } from '../src/tcp-transport.ts';
import type { KvSink } from '../src/types.ts';

const [url, prefix, totalArg] = process.argv.slice(2);
const total = Number(totalArg);
const nc = await connect({ servers: url });
const subjects = new Subjects(prefix);

const countingSink = (): KvSink => ({ begin: () => ({ cachedTokens: 0 }), write: () => undefined, finish: () => undefined, abort: () => undefined });
const transports = [new NatsKvTransport(nc, subjects), new TcpKvTransport(nc, subjects)];
serveKvOffers({ nc, subjects, workerId: 'bench-recv', transports, sinkFor: countingSink });

// Raw NATS: count bytes on <prefix>.raw.data; publish an ack once a whole round arrived.
let natsBytes = 0;
nc.subscribe(`${prefix}.raw.data`, {
  callback: (_err, msg) => {
    natsBytes += msg.data.byteLength;
    if (natsBytes >= total) {
      natsBytes = 0;
      nc.publish(`${prefix}.raw.ack`);
    }
  },
});

// Raw TCP: count bytes per connection; one ack byte once a whole round arrived.
const server = net.createServer((socket) => {
  let got = 0;
  socket.on('data', (d: Buffer) => {
    got += d.length;
    if (got >= total) socket.end(Buffer.from([1]));
  });
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as net.AddressInfo;
  void nc.flush().then(() => process.stdout.write(`${JSON.stringify({ ready: true, rawTcpPort: port })}\n`));
});
process.stdin.on('end', () => process.exit(0)); // the parent closing our stdin ends us
process.stdin.resume();
