/**
 * Randomized model check: thousands of seeded random operations against a small pool, with a
 * plain-array model of the free queue and of what each block holds. After every operation:
 *   - refCount of each block = number of open block tables that contain it
 *   - free queue = the model's queue (exact order), = the blocks with refCount 0, unhashed first
 *   - hash map ⇔ block hashes, one to one; snapshot = replay of the events; seq has no gaps
 *   - a hashed block really holds the tokens its hash names (tracked per block by the model)
 *   - stats agree with all of the above
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashPromptBlocks, type BlockHash } from '../../src/kv/block-hash.ts';
import type { BlockManager } from '../../src/kv/block-manager.ts';
import type { KvEvent } from '../../src/kv/kv-events.ts';
import { managerWithEvents, replay } from './fixtures.ts';

const S = 4;
const NUM_BLOCKS = 24;
const NUM_OPS = 4000;

/** mulberry32: small, seeded, good enough to drive a test. */
function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

interface ModelSeq {
  script: number[]; // prompt then the tokens it will generate
  salt: string;
  committed: number;
  /** hashPromptBlocks of the committed tokens, refreshed when committed changes. */
  chain: BlockHash[];
}

class Model {
  readonly seqs = new Map<string, ModelSeq>();
  queue: number[] = Array.from({ length: NUM_BLOCKS }, (_, i) => i);
  /** Chain hash of the tokens last written into each block (null: not a full written block). */
  readonly content: (BlockHash | null)[] = new Array<BlockHash | null>(NUM_BLOCKS).fill(null);
  readonly events: KvEvent[];
  /** replay(events) kept up to date incrementally (a full replay per step is quadratic). */
  private readonly replayed = new Set<BlockHash>();
  private replayedUpTo = 0;

  constructor(
    readonly mgr: BlockManager,
    events: KvEvent[],
  ) {
    this.events = events;
  }

  refCounts(): number[] {
    const rc = new Array<number>(NUM_BLOCKS).fill(0);
    for (const id of this.seqs.keys()) for (const b of this.mgr.blockTable(id)) rc[b]++;
    return rc;
  }

  setCommitted(seq: ModelSeq, committed: number): void {
    seq.committed = committed;
    seq.chain = hashPromptBlocks(seq.script.slice(0, committed), S, seq.salt);
  }

  check(step: number): void {
    const msg = `after step ${step}`;
    const { blocks, freeQueue, cached } = this.mgr.inspect();
    const rc = this.refCounts();
    assert.deepEqual(blocks.map((b) => b.refCount), rc, `refCounts ${msg}`);
    assert.deepEqual(freeQueue, this.queue, `free queue order ${msg}`);
    assert.deepEqual([...freeQueue].sort((x, y) => x - y), rc.flatMap((r, id) => (r === 0 ? [id] : [])), msg);
    const firstHashed = freeQueue.findIndex((id) => blocks[id].hash !== null);
    if (firstHashed >= 0) {
      assert.ok(freeQueue.slice(firstHashed).every((id) => blocks[id].hash !== null), `unhashed after hashed ${msg}`);
    }
    const hashed = blocks.filter((b) => b.hash !== null);
    assert.equal(cached.length, hashed.length, msg);
    for (const [h, id] of cached) assert.equal(blocks[id].hash, h, `map → block ${msg}`);
    for (const b of hashed) assert.equal(b.hash, this.content[b.id], `block ${b.id} holds other tokens ${msg}`);
    const snap = this.mgr.snapshot();
    for (; this.replayedUpTo < this.events.length; this.replayedUpTo++) {
      const e = this.events[this.replayedUpTo];
      assert.equal(e.seq, this.replayedUpTo + 1, `seq gap ${msg}`);
      for (const h of replay([e]).values()) this.replayed.add(h);
      if (e.type === 'removed') for (const h of e.hashes) this.replayed.delete(h);
      if (e.type === 'cleared') this.replayed.clear();
    }
    assert.deepEqual(new Set(snap.hashes), this.replayed, `snapshot vs events ${msg}`);
    assert.equal(snap.seq, this.events.length, msg);
    for (const [id, seq] of this.seqs) this.checkSequence(id, seq, blocks.map((b) => b.hash), msg);
    const st = this.mgr.stats();
    assert.equal(st.usedBlocks, rc.filter((r) => r > 0).length, msg);
    assert.equal(st.freeBlocks + st.usedBlocks, NUM_BLOCKS, msg);
    assert.equal(st.cachedBlocks, hashed.length, msg);
  }

  private checkSequence(id: string, seq: ModelSeq, hashOf: (BlockHash | null)[], msg: string): void {
    const table = this.mgr.blockTable(id);
    assert.equal(new Set(table).size, table.length, `${id} table has duplicates ${msg}`);
    assert.equal(this.mgr.numCommittedTokens(id), seq.committed, msg);
    assert.ok(seq.committed <= table.length * S, msg);
    const expected = seq.chain;
    table.forEach((b, i) => {
      if (i >= expected.length) assert.equal(hashOf[b], null, `${id}[${i}] hashed before full ${msg}`);
      else assert.equal(this.content[b], expected[i], `${id}[${i}] content ${msg}`);
    });
  }
}

function runRandomOps(seed: number): void {
  const rand = rng(seed);
  const { mgr, events } = managerWithEvents({ numBlocks: NUM_BLOCKS, blockSize: S });
  const m = new Model(mgr, events);
  // Four token "families" so prompts share prefixes often; 1 in 4 prompts diverges somewhere.
  const family = (f: number, n: number) => Array.from({ length: n }, (_, i) => f * 1000 + i);
  let nextId = 0;
  const counts = { hits: 0, stored: 0, evicted: 0, resets: 0, allocFailures: 0 };
  const pick = () => [...m.seqs.keys()][rand(m.seqs.size)];

  for (let step = 0; step < NUM_OPS; step++) {
    const op = rand(100);
    const kind =
      op >= 97 ? 'reset'
      : m.seqs.size === 0 || (op < 20 && m.seqs.size < 6) ? 'open'
      : op < 50 ? 'allocate'
      : op < 80 ? 'commit'
      : 'free';
    if (kind === 'open') {
      const script = family(rand(4), 24 + rand(40));
      if (rand(4) === 0) script[rand(script.length)] = 999_999;
      const promptLen = 1 + rand(Math.min(script.length, 40));
      const seq: ModelSeq = { script, salt: rand(5) === 0 ? 't1' : '', committed: 0, chain: [] };
      const allowFullPrefix = rand(5) === 0;
      const prompt = script.slice(0, promptLen);
      const promptHashes = hashPromptBlocks(prompt, S, seq.salt);
      const cap = Math.floor((promptLen - (allowFullPrefix ? 0 : 1)) / S);
      const held = new Set(mgr.snapshot().hashes);
      let hits = 0;
      while (hits < Math.min(cap, promptHashes.length) && held.has(promptHashes[hits])) hits++;
      const rcBefore = m.refCounts();
      const id = `s${nextId++}`;
      assert.deepEqual(mgr.openSequence(id, prompt, { salt: seq.salt, allowFullPrefix }), { cachedTokens: hits * S });
      m.setCommitted(seq, hits * S);
      counts.hits += hits;
      m.seqs.set(id, seq);
      const hitBlocks = mgr.blockTable(id);
      m.queue = m.queue.filter((b) => !(hitBlocks.includes(b) && rcBefore[b] === 0));
    } else if (kind === 'allocate') {
      const id = pick();
      const seq = m.seqs.get(id)!;
      const before = mgr.blockTable(id).slice();
      const needed = Math.max(0, Math.ceil((seq.committed + rand(13)) / S) - before.length);
      const target = (before.length + needed) * S - rand(S); // anywhere inside the last block
      const hashesBefore = mgr.inspect().blocks.map((b) => b.hash);
      const nEvents = events.length;
      const ok = mgr.allocateSlots(id, Math.max(0, target));
      assert.equal(ok, needed <= m.queue.length, `allocate result at step ${step}`);
      if (ok && needed > 0) {
        const taken = m.queue.slice(0, needed);
        assert.deepEqual(mgr.blockTable(id), [...before, ...taken], `taken from the head at step ${step}`);
        const evicted = taken.map((b) => hashesBefore[b]).filter((h) => h !== null);
        const newEvents = events.slice(nEvents);
        assert.deepEqual(newEvents.length === 0 ? [] : newEvents[0].type === 'removed' && newEvents[0].hashes, evicted);
        for (const b of taken) m.content[b] = null;
        counts.evicted += evicted.length;
        m.queue = m.queue.slice(needed);
      } else {
        if (!ok) counts.allocFailures++;
        assert.equal(events.length, nEvents);
        assert.deepEqual(mgr.blockTable(id), before);
      }
    } else if (kind === 'commit') {
      const id = pick();
      const seq = m.seqs.get(id)!;
      const room = Math.min(mgr.blockTable(id).length * S, seq.script.length) - seq.committed;
      const n = rand(Math.min(room, 10) + 1);
      const nEvents = events.length;
      mgr.commitTokens(id, seq.script.slice(seq.committed, seq.committed + n));
      m.setCommitted(seq, seq.committed + n);
      const table = mgr.blockTable(id);
      const chain = seq.chain;
      chain.forEach((h, i) => (m.content[table[i]] = h));
      for (const e of events.slice(nEvents)) {
        // Each 'stored' is a contiguous piece of this sequence's chain, with its true parent.
        assert.ok(e.type === 'stored', `commit emitted ${e.type} at step ${step}`);
        const at = chain.indexOf(e.hashes[0]);
        assert.ok(at >= 0, `stored hash not in the chain at step ${step}`);
        assert.equal(e.parentHash, at === 0 ? null : chain[at - 1], `parentHash at step ${step}`);
        assert.deepEqual(e.hashes, chain.slice(at, at + e.hashes.length), `stored run at step ${step}`);
        counts.stored += e.hashes.length;
      }
    } else if (kind === 'free') {
      const id = pick();
      const rc = m.refCounts();
      const hashOf = mgr.inspect().blocks.map((b) => b.hash);
      const released = [...mgr.blockTable(id)].reverse().filter((b) => rc[b] === 1);
      assert.equal(mgr.freeSequence(id), true);
      assert.equal(mgr.freeSequence(id), false);
      m.seqs.delete(id);
      const unhashed = released.filter((b) => hashOf[b] === null);
      const hashed = released.filter((b) => hashOf[b] !== null);
      m.queue = [...unhashed, ...m.queue, ...hashed];
    } else {
      const ok = mgr.resetPrefixCache();
      assert.equal(ok, m.seqs.size === 0);
      if (ok) {
        counts.resets++;
        m.queue = Array.from({ length: NUM_BLOCKS }, (_, i) => i);
        m.content.fill(null);
      }
    }
    m.check(step);
  }
  // The run must have exercised every path, or it proves little.
  for (const [k, v] of Object.entries(counts)) assert.ok(v > 0, `no ${k} in ${NUM_OPS} steps: ${JSON.stringify(counts)}`);
  if (process.env.KV_RANDOM_VERBOSE) console.log(seed, counts);
}

void describe('BlockManager randomized invariants', () => {
  for (const seed of [1, 2, 20240601]) {
    void it(`holds every invariant over ${NUM_OPS} random operations (seed ${seed})`, () => {
      runRandomOps(seed);
    });
  }
});
