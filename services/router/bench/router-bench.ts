/**
 * `npm run bench:router`: the router's hot paths in-process, no network, on a seeded fleet of
 * 64 workers and 1,000,000 distinct indexed blocks (block size 16):
 *
 *   index_bytes_per_block  heap + array-buffer growth of a PrefixIndex loaded with the fleet
 *                          (after a forced GC), divided by its distinct blocks
 *   event_apply_per_s      KV events (each one stored or removed block) applied to the full index
 *                          by PrefixIndex.applyBatch, from decoded batches of 8 events per worker
 *                          (median of ROUNDS rounds); decode + apply is printed on stderr too
 *   decision_*             full placements (the router's PolicyPlacer, default policy, in-memory
 *                          accounting) of 8,192-token prompts (512 block hashes): see measureDecisions
 *
 * Workload: 64 system prompts of 32 blocks; conversations of 512 blocks = a system prompt + 480
 * blocks of their own, each cached in full by one worker and, one time in four, its first part
 * by a second worker. Prompts: 60% a cached conversation (the deepest match), 20% a known system
 * prompt with a new tail, 20% all new. Progress on stderr; the last stdout line is one JSON object.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { create } from '@bufbuild/protobuf';
import { KvEventBatchSchema, PlacementRequestSchema, WorkerHeartbeatSchema, WorkerRole, WorkerState, createLogger, wire, type KvEventBatch } from '@duet/core';
import { InMemoryAccounting } from '../src/accounting/index.ts';
import { FleetState } from '../src/fleet.ts';
import { PrefixIndex } from '../src/index/index.ts';
import { PolicyPlacer } from '../src/placement.ts';
import { DEFAULT_POLICY } from '../src/policy/load.ts';
import { LivePolicy } from '../src/policy/live.ts';
import { WorkerRegistry } from '../src/registry.ts';

const WORKERS = 64, INDEXED_BLOCKS = 1_000_000, BLOCK_SIZE = 16, PROMPT_TOKENS = 8192;
const PROMPT_BLOCKS = PROMPT_TOKENS / BLOCK_SIZE, SYSTEM_PROMPTS = 64, SYSTEM_BLOCKS = 32;
const EVENTS_PER_BATCH = 8, STORE_CHUNK_BLOCKS = 16;
const DECISIONS = Number(process.env.DECISIONS ?? 20_000), WARMUP = 2_000;
const APPLY_EVENTS = Number(process.env.APPLY_EVENTS ?? 256_000), ROUNDS = Number(process.env.ROUNDS ?? 3);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/** Full collections until the heap stops shrinking, so before/after compare live bytes. */
function settle(): void {
  let last = Infinity;
  for (let i = 0; i < 8; i++) {
    gc();
    const used = process.memoryUsage().heapUsed;
    if (used >= last - 4096) return;
    last = used;
  }
}
const log = (msg: string): boolean => process.stderr.write(`router-bench: ${msg}\n`);

/** mulberry32, so every run indexes the same fleet. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(20240611);
const hashBytes = Buffer.alloc(8);
/** A random 16-hex-char hash, as a flat string (a concatenation would be flattened, and shrink, later). */
function newHash(): string {
  hashBytes.writeUInt32LE((rand() * 0x1_0000_0000) >>> 0, 0);
  hashBytes.writeUInt32LE((rand() * 0x1_0000_0000) >>> 0, 4);
  return hashBytes.toString('hex');
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
const workerId = (w: number): string => `decode-${String(w).padStart(2, '0')}`;

interface Fleet {
  conversations: string[][];
  systems: string[][];
  /** Per worker: the chains it caches, [hashes, how many leading blocks]. */
  holdings: Array<Array<[string[], number]>>;
}

function buildFleet(): Fleet {
  const systems = Array.from({ length: SYSTEM_PROMPTS }, () => Array.from({ length: SYSTEM_BLOCKS }, newHash));
  const conversations: string[][] = [];
  const holdings: Fleet['holdings'] = Array.from({ length: WORKERS }, () => []);
  let distinct = SYSTEM_PROMPTS * SYSTEM_BLOCKS;
  while (distinct < INDEXED_BLOCKS) {
    const own = Math.min(PROMPT_BLOCKS - SYSTEM_BLOCKS, INDEXED_BLOCKS - distinct);
    const chain = [...pick(systems), ...Array.from({ length: own }, newHash)];
    distinct += own;
    conversations.push(chain);
    const home = Math.floor(rand() * WORKERS);
    holdings[home].push([chain, chain.length]);
    if (rand() < 0.25) holdings[(home + 1 + Math.floor(rand() * (WORKERS - 1))) % WORKERS].push([chain, 1 + Math.floor(rand() * chain.length)]);
  }
  return { conversations, systems, holdings };
}

/** Loads the fleet through applyBatch, as stored events of 16 blocks (a 256-token chunk). */
function loadIndex(index: PrefixIndex, fleet: Fleet, seqs: number[]): number {
  let blocks = 0;
  for (let w = 0; w < WORKERS; w++) {
    let events: KvEventBatch['events'] = [];
    const flush = (): void => {
      index.applyBatch(create(KvEventBatchSchema, { workerId: workerId(w), events }));
      events = [];
    };
    for (const [chain, n] of fleet.holdings[w]) {
      for (let at = 0; at < n; at += STORE_CHUNK_BLOCKS) {
        const hashes = chain.slice(at, Math.min(n, at + STORE_CHUNK_BLOCKS));
        blocks += hashes.length;
        const parentHash = at > 0 ? chain[at - 1] : undefined;
        events.push({ $typeName: 'duet.v1.KvEvent', seq: BigInt(++seqs[w]), event: { case: 'stored', value: { $typeName: 'duet.v1.KvBlocksStored', hashes, blockSize: BLOCK_SIZE, parentHash } } });
        if (events.length === EVENTS_PER_BATCH) flush();
      }
    }
    if (events.length > 0) flush();
  }
  return blocks;
}

/**
 * Steady churn on the full index: per worker, store a new block then evict its oldest churn
 * block (each event one hash), in batches of 8 events with contiguous seqs.
 */
function churnBatches(seqs: number[], churn: string[][], events: number): KvEventBatch[] {
  const out: KvEventBatch[] = [];
  for (let made = 0; made < events; made += EVENTS_PER_BATCH) {
    const w = Math.floor(rand() * WORKERS), evs: KvEventBatch['events'] = [];
    for (let k = 0; k < EVENTS_PER_BATCH; k += 2) {
      const h = newHash();
      churn[w].push(h);
      evs.push({ $typeName: 'duet.v1.KvEvent', seq: BigInt(++seqs[w]), event: { case: 'stored', value: { $typeName: 'duet.v1.KvBlocksStored', hashes: [h], blockSize: BLOCK_SIZE } } });
      const old = churn[w].length > 64 ? churn[w].shift()! : h;
      evs.push({ $typeName: 'duet.v1.KvEvent', seq: BigInt(++seqs[w]), event: { case: 'removed', value: { $typeName: 'duet.v1.KvBlocksRemoved', hashes: [old] } } });
    }
    out.push(create(KvEventBatchSchema, { workerId: workerId(w), events: evs }));
  }
  return out;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function measureApply(index: PrefixIndex, seqs: number[]): { applyPerS: number; decodeApplyPerS: number } {
  const churn: string[][] = Array.from({ length: WORKERS }, () => []);
  const applyRates: number[] = [], decodeRates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const batches = churnBatches(seqs, churn, APPLY_EVENTS);
    gc(); // the batches' garbage is the bench's, not the index's: collect it outside the timing
    let t0 = performance.now();
    for (const b of batches) if (index.applyBatch(b) !== 'applied') throw new Error(`churn batch for ${b.workerId} not applied`);
    applyRates.push(APPLY_EVENTS / ((performance.now() - t0) / 1000));
    const encoded = churnBatches(seqs, churn, APPLY_EVENTS).map((b) => wire.kvEventBatch.encode(b));
    gc();
    t0 = performance.now();
    for (const bytes of encoded) if (index.applyBatch(wire.kvEventBatch.decode(bytes)) !== 'applied') throw new Error('churn batch not applied');
    decodeRates.push(APPLY_EVENTS / ((performance.now() - t0) / 1000));
  }
  return { applyPerS: median(applyRates), decodeApplyPerS: median(decodeRates) };
}

function prompts(fleet: Fleet, n: number): string[][] {
  return Array.from({ length: n }, () => {
    const r = rand();
    if (r < 0.6) return pick(fleet.conversations);
    const head = r < 0.8 ? pick(fleet.systems) : [];
    return [...head, ...Array.from({ length: PROMPT_BLOCKS - head.length }, newHash)];
  });
}

interface DecisionFigures {
  p50Us: number;
  p99Us: number;
  perS: number;
}

/**
 * Placement decisions through the real router code, timed one by one: PolicyPlacer.place with the
 * default policy (prefix-load-expert: healthy + kv-capacity + load-band filters, prefix-match and expert-profile
 * producers, four decode scorers, two prefill scorers, max-score pickers) over a registry of the 64
 * workers (00–31 prefill, 32–63 decode), the loaded PrefixIndex, and an InMemoryAccounting that
 * reserves every placement; each request is released 256 decisions later (a steady in-flight load).
 * The request arrives decoded (its protobuf decode is timed separately and printed on stderr).
 */
async function measureDecisions(index: PrefixIndex, promptSet: string[][]): Promise<DecisionFigures> {
  const registry = new WorkerRegistry(1e9, () => 0);
  for (let w = 0; w < WORKERS; w++) {
    const worker = { workerId: workerId(w), role: w < WORKERS / 2 ? WorkerRole.PREFILL : WorkerRole.DECODE, model: 'm', capacity: { kvBlocksTotal: 1 << 20, blockSize: BLOCK_SIZE, maxRunningSeqs: 256 } };
    registry.observe(create(WorkerHeartbeatSchema, { worker, seq: 1n, state: WorkerState.READY, intervalMs: 1000 }));
  }
  const fleet = new FleetState(registry, rand, index);
  const accounting = new InMemoryAccounting();
  const policy = new LivePolicy(DEFAULT_POLICY, createLogger('bench', { level: 'silent' }));
  const placer = new PolicyPlacer(fleet, accounting, policy, createLogger('bench', { level: 'silent' }));
  const requests = promptSet.map((blockHashes, i) => create(PlacementRequestSchema, { requestId: `r${i}`, model: 'm', blockHashes, promptTokens: PROMPT_TOKENS, maxTokens: 256 }));
  let n = 0, sink = 0;
  const one = async (): Promise<void> => {
    const req = requests[n % requests.length];
    const id = `q${n++}`;
    const out = await placer.place({ ...req, requestId: id });
    if (out.decision.response.result?.case !== 'placed') throw new Error(`not placed: ${JSON.stringify(out.decision.response.result)}`);
    sink += out.conflicts;
    if (n > 256) await accounting.release(`q${n - 257}`, 'all');
  };
  for (let i = 0; i < WARMUP; i++) await one();
  gc();
  const lat = new Float64Array(DECISIONS);
  const start = performance.now();
  for (let i = 0; i < DECISIONS; i++) {
    const t0 = performance.now();
    await one();
    lat[i] = performance.now() - t0;
  }
  const totalS = (performance.now() - start) / 1000;
  if (sink !== 0) log(`note: ${sink} accounting conflicts in one process`);
  const bytes = requests.slice(0, 256).map((r) => wire.placementRequest.encode(r));
  const t1 = performance.now();
  for (let i = 0; i < 2000; i++) wire.placementRequest.decode(bytes[i % bytes.length]);
  log(`PlacementRequest decode (512 hashes): ${(((performance.now() - t1) / 2000) * 1000).toFixed(1)} µs each (not in decision_*)`);
  lat.sort();
  const pct = (q: number): string => (lat[Math.min(DECISIONS - 1, Math.floor(DECISIONS * q))] * 1000).toFixed(1);
  log(`decision latency µs: p90 ${pct(0.9)}, p95 ${pct(0.95)}, p98 ${pct(0.98)}, p99 ${pct(0.99)}, p99.9 ${pct(0.999)}, max ${pct(1)}`);
  return { p50Us: lat[Math.floor(DECISIONS * 0.5)] * 1000, p99Us: lat[Math.floor(DECISIONS * 0.99)] * 1000, perS: DECISIONS / totalS };
}

async function main(): Promise<void> {
  const fleet = buildFleet();
  const promptSet = prompts(fleet, 4096);
  settle();
  const before = process.memoryUsage();
  const index = new PrefixIndex({ initialWorkerSlots: WORKERS });
  const seqs = new Array<number>(WORKERS).fill(0);
  let t0 = performance.now();
  const loaded = loadIndex(index, fleet, seqs);
  const loadS = (performance.now() - t0) / 1000;
  settle();
  const after = process.memoryUsage();
  const bytes = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
  log(`memory delta: heap ${after.heapUsed - before.heapUsed} B, array buffers ${after.arrayBuffers - before.arrayBuffers} B, external ${after.external - before.external} B, rss ${after.rss - before.rss} B`);
  const st = index.stats();
  if (st.blocks !== INDEXED_BLOCKS) throw new Error(`indexed ${st.blocks} distinct blocks, expected ${INDEXED_BLOCKS}`);
  log(`loaded ${loaded} blocks (${st.entries} worker-block pairs, ${st.blocks} distinct) in ${loadS.toFixed(2)} s = ${Math.round(loaded / loadS)} blocks/s; table ${st.tableBytes} B`);

  t0 = performance.now();
  const apply = measureApply(index, seqs);
  log(`apply: ${Math.round(apply.applyPerS)} events/s; decode + apply: ${Math.round(apply.decodeApplyPerS)} events/s (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  if (index.size !== INDEXED_BLOCKS) log(`note: churn left ${index.size} distinct blocks`);

  const d = await measureDecisions(index, promptSet);
  const result = {
    workers: WORKERS,
    indexed_blocks: st.blocks,
    prompt_tokens: PROMPT_TOKENS,
    decision_p50_us: Number(d.p50Us.toFixed(2)),
    decision_p99_us: Number(d.p99Us.toFixed(2)),
    decisions_per_s: Math.round(d.perS),
    event_apply_per_s: Math.round(apply.applyPerS),
    index_bytes_per_block: Number((bytes / st.blocks).toFixed(1)),
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

await main();
