/**
 * `npm run bench:kv-transfer`: moves the KV of a 2,048-token prompt of the `bench` llama model
 * (8 layers · 8 KV heads · head dim 64, f32 → 67,108,864 bytes) from this process to a child
 * process, over a nats-server started by the testkit: plain NATS pub/sub and a plain TCP socket
 * (raw baselines, same bytes, in messages/writes of DEFAULT_KV_CHUNK_BYTES = 768 KiB, final ack)
 * against Duet's NATS and TCP transports (chunking, credits, checksums, completion ack). Median
 * of REPS (default 9) alternating rounds after a warm-up round; stderr shows each round and the
 * spread of the per-round ratios; prints one JSON object as the last stdout line.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as net from 'node:net';
import { createInterface } from 'node:readline';
import { create } from '@bufbuild/protobuf';
import { DEFAULT_KV_CHUNK_BYTES, KvDtype, KvTransferOfferSchema, Subjects } from '@duet/core';
import { startNats, uniqueSubjects } from '@duet/testkit';
import { connect, type NatsConnection } from 'nats';
import { NatsKvTransport } from '../src/nats-transport.ts';
import { slicesSource } from '../src/slice-queue.ts';
import { TcpKvTransport } from '../src/tcp-transport.ts';
import type { KvSlice, KvTransport } from '../src/types.ts';

const LAYERS = 8, KV_HEADS = 8, HEAD_DIM = 64, TOKENS = 2048, REPS = Number(process.env.REPS ?? 9);
const TOKEN_FLOATS = KV_HEADS * HEAD_DIM;
const BYTES = LAYERS * TOKENS * 2 * TOKEN_FLOATS * 4;

function randomSlices(): KvSlice[] {
  return Array.from({ length: LAYERS }, (_, layer) => {
    const k = new Float32Array(TOKENS * TOKEN_FLOATS).map(() => Math.random());
    const v = new Float32Array(TOKENS * TOKEN_FLOATS).map(() => Math.random());
    return { layer, tokenStart: 0, tokenEnd: TOKENS, k, v };
  });
}

async function rawNats(nc: NatsConnection, prefix: string, blob: Uint8Array): Promise<number> {
  const ack = nc.subscribe(`${prefix}.raw.ack`, { max: 1 });
  await nc.flush();
  const t0 = performance.now();
  for (let at = 0; at < blob.byteLength; at += DEFAULT_KV_CHUNK_BYTES) nc.publish(`${prefix}.raw.data`, blob.subarray(at, at + DEFAULT_KV_CHUNK_BYTES));
  for await (const _ of ack) break;
  return (performance.now() - t0) / 1000;
}

async function rawTcp(port: number, blob: Uint8Array): Promise<number> {
  const t0 = performance.now();
  const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
  await once(socket, 'connect');
  const acked = once(socket, 'data');
  for (let at = 0; at < blob.byteLength; at += DEFAULT_KV_CHUNK_BYTES) {
    if (!socket.write(blob.subarray(at, at + DEFAULT_KV_CHUNK_BYTES))) await once(socket, 'drain');
  }
  await acked;
  socket.destroy();
  return (performance.now() - t0) / 1000;
}

async function duet(transport: KvTransport, slices: KvSlice[], rep: number): Promise<number> {
  const offer = create(KvTransferOfferSchema, {
    transferId: `bench-${transport.kind}-${rep}`,
    layout: { numLayers: LAYERS, numKvHeads: KV_HEADS, headDim: HEAD_DIM, dtype: KvDtype.F32, blockSize: 16 },
    promptTokens: TOKENS,
    timeoutMs: 60_000,
  });
  const r = await transport.send('bench-recv', offer, slicesSource(slices, { tokenId: 1 }));
  if (!r.ok) throw new Error(`duet transfer failed: ${r.reason}: ${r.message}`);
  if (r.bytes !== BYTES) throw new Error(`moved ${r.bytes} bytes, expected ${BYTES}`);
  return r.seconds;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mbps = (seconds: number[]): number => Math.round(BYTES / 1e6 / median(seconds));

const server = await startNats();
const prefix = uniqueSubjects().all().replace(/\.>$/, '');
// Profiling flags (--cpu-prof…) given to the benchmark apply to the receiver too.
const profFlags = process.execArgv.filter((a) => a.startsWith('--cpu-prof'));
const child = spawn(process.execPath, [...profFlags, '--import', 'tsx', new URL('./receiver.ts', import.meta.url).pathname, server.url, prefix, String(BYTES)], { stdio: ['pipe', 'pipe', 'inherit'] });
try {
  const lines = createInterface({ input: child.stdout });
  const [first] = (await once(lines, 'line')) as [string];
  const { rawTcpPort } = JSON.parse(first) as { rawTcpPort: number };
  const nc = await connect({ servers: server.url });
  const subjects = new Subjects(prefix);
  const natsT = new NatsKvTransport(nc, subjects);
  const tcpT = new TcpKvTransport(nc, subjects);
  const slices = randomSlices();
  const blob = new Uint8Array(BYTES).map((_, i) => i);
  const t = { natsRaw: [] as number[], duetNats: [] as number[], tcpRaw: [] as number[], duetTcp: [] as number[] };
  for (let rep = -1; rep < REPS; rep++) { // rep −1 warms up and is not counted
    const s = [await rawNats(nc, prefix, blob), await duet(natsT, slices, rep + 1), await rawTcp(rawTcpPort, blob), await duet(tcpT, slices, REPS + rep + 2)];
    if (rep < 0) continue;
    [t.natsRaw, t.duetNats, t.tcpRaw, t.duetTcp].forEach((xs, i) => xs.push(s[i]));
    console.error(`rep ${rep}: ${s.map((x) => Math.round(BYTES / 1e6 / x)).join(' / ')} MB/s (nats raw / duet nats / tcp raw / duet tcp)`);
  }
  const spread = (raw: number[], duet: number[]): string => {
    const r = raw.map((x, i) => x / duet[i]).sort((a, b) => a - b);
    return `${r[0].toFixed(2)}–${r[r.length - 1].toFixed(2)}`;
  };
  console.error(`per-round ratios: nats ${spread(t.natsRaw, t.duetNats)}, tcp ${spread(t.tcpRaw, t.duetTcp)}`);
  await nc.drain();
  const out = { bytes: BYTES, nats_raw_MBps: mbps(t.natsRaw), duet_nats_MBps: mbps(t.duetNats), tcp_raw_MBps: mbps(t.tcpRaw), duet_tcp_MBps: mbps(t.duetTcp) };
  console.log(JSON.stringify({ bytes: out.bytes, nats_raw_MBps: out.nats_raw_MBps, duet_nats_MBps: out.duet_nats_MBps, nats_ratio: +(out.duet_nats_MBps / out.nats_raw_MBps).toFixed(2), tcp_raw_MBps: out.tcp_raw_MBps, duet_tcp_MBps: out.duet_tcp_MBps, tcp_ratio: +(out.duet_tcp_MBps / out.tcp_raw_MBps).toFixed(2) }));
} finally {
  child.stdin.end();
  await server.stop();
}
