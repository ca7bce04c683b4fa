/**
 * Mooncake trace replay: parsing, and scaling that keeps the sharing structure — two scaled
 * prompts share exactly the blocks whose hash ids they share, so the prefix-reuse upper bound of
 * the scaled workload equals the trace's (on a hand-made trace, and on the real traces when
 * ../shared/workloads is present).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { hashIdReuseBound, mooncakeWorkload, parseMooncake, prefixReuseBound, tokenRangeForVocab, WorkloadError, type WorkloadRequest } from '../src/index.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const SHARED = fileURLToPath(new URL('../../../shared/workloads/mooncake/', import.meta.url));
const range = tokenRangeForVocab(1024);

function sharedBlocks(a: WorkloadRequest, b: WorkloadRequest, size: number): number {
  let n = 0;
  while ((n + 1) * size <= Math.min(a.promptIds.length, b.promptIds.length)) {
    const s = n * size;
    if (a.promptIds.slice(s, s + size).join() !== b.promptIds.slice(s, s + size).join()) break;
    n++;
  }
  return n;
}

describe('mooncake trace', () => {
  const rows = parseMooncake(readFileSync(fixture('mooncake-small.jsonl'), 'utf8'), 'mooncake-small.jsonl');

  test('parses every row', () => {
    assert.equal(rows.length, 6);
    assert.deepEqual(rows[2], { timestamp: 1000, inputLength: 2048, outputLength: 300, hashIds: [0, 1, 2, 5] });
  });

  test('a bad line names the file and line', () => {
    assert.throws(() => parseMooncake('{"timestamp":0,"input_length":1,"output_length":1,"hash_ids":[1]}\n{"timestamp":0,"input_length":1,"output_length":1,"hash_ids":"x"}', 't.jsonl'), (e: unknown) => e instanceof WorkloadError && /t\.jsonl:2: "hash_ids"/.test(e.message));
    assert.throws(() => parseMooncake('not json', 't.jsonl'), /t\.jsonl:1: not JSON/);
    assert.throws(() => parseMooncake('{"timestamp":-1,"input_length":1,"output_length":1,"hash_ids":[1]}', 't.jsonl'), /"timestamp" must be a non-negative integer/);
  });

  test('scaled: one 16-token block per hash id, outputs × 16/512, timestamps kept', () => {
    const w = mooncakeWorkload(rows, { tokensPerBlock: 16, maxContextTokens: 2048, range });
    assert.deepEqual(w.requests.map((r) => r.promptIds.length), [48, 48, 64, 16, 96, 16]);
    // 100·16/512 = 3.1 → 3; 50 → 1.6 → 2; 300 → 9.4 → 9; 10 → 0.3 → at least 1; 20 → 0.6 → 1; 600 → 18.75 → 19
    assert.deepEqual(w.requests.map((r) => r.maxTokens), [3, 2, 9, 1, 1, 19]);
    assert.deepEqual(w.requests.map((r) => r.arrivalMs), [0, 0, 1000, 2000, 3000, 3000]);
    assert.ok(w.requests.every((r) => r.promptIds.every((t) => t >= range.lo && t < range.hi)));
  });

  test('prompts share exactly the blocks whose hash ids match', () => {
    const w = mooncakeWorkload(rows, { tokensPerBlock: 16, maxContextTokens: 2048, range });
    const r = w.requests;
    // [0,1,2] vs [0,1,2,5]: 3 blocks; [0,1,2] vs [0,3,4]: 1 block; [6] vs [0]: none; [0,1,2,5] vs [0,1,2,5,7,8]: 4
    assert.equal(sharedBlocks(r[0], r[2], 16), 3);
    assert.equal(sharedBlocks(r[0], r[1], 16), 1);
    assert.equal(sharedBlocks(r[3], r[5], 16), 0);
    assert.equal(sharedBlocks(r[2], r[4], 16), 4);
    assert.equal(sharedBlocks(r[4], r[5], 16), 1);
  });

  test('the reuse upper bound of the scaled workload equals the trace bound (9 of 18 blocks)', () => {
    assert.equal(hashIdReuseBound(rows.map((r) => r.hashIds)), 0.5);
    for (const tpb of [4, 16, 32]) {
      const w = mooncakeWorkload(rows, { tokensPerBlock: tpb, maxContextTokens: 4096, range, seed: 7 });
      const b = prefixReuseBound(w.requests, tpb);
      assert.equal(b.rate, 0.5, `tokens per block ${tpb}`);
      assert.equal(b.blockRate, 0.5);
    }
  });

  test('a prompt over the context keeps its leading blocks; the bound matches the cut trace', () => {
    // 64-token context: room = ⌊(64 − output) / 16⌋ blocks → 3, 3, 3 (of 4), 1, 3 (of 6), 2 (of 1).
    const w = mooncakeWorkload(rows, { tokensPerBlock: 16, maxContextTokens: 64, range });
    assert.deepEqual(w.requests.map((r) => r.promptIds.length / 16), [3, 3, 3, 1, 3, 1]);
    assert.equal(w.params.truncated, 2);
    const cut = rows.map((r, i) => r.hashIds.slice(0, w.requests[i].promptIds.length / 16));
    assert.equal(prefixReuseBound(w.requests, 16).rate, hashIdReuseBound(cut));
    assert.throws(() => mooncakeWorkload(rows, { tokensPerBlock: 16, maxContextTokens: 20, range }), /cannot hold one 16-token block/);
  });

  for (const file of ['conversation_trace.jsonl', 'synthetic_trace.jsonl', 'mooncake_arxiv_trace_first1000.jsonl']) {
    test(`real trace ${file}: scaled bound equals the trace bound`, { skip: !existsSync(SHARED + file) && 'trace not present' }, () => {
      const real = parseMooncake(readFileSync(SHARED + file, 'utf8'), file);
      // Context large enough for the longest prompt (374 blocks × 16) plus its output: nothing cut.
      const w = mooncakeWorkload(real, { tokensPerBlock: 16, maxContextTokens: 8192, range: tokenRangeForVocab(32000) });
      assert.equal(w.params.truncated, 0);
      const traceBound = hashIdReuseBound(real.map((r) => r.hashIds));
      assert.ok(Math.abs(prefixReuseBound(w.requests, 16).rate - traceBound) < 1e-12, `${prefixReuseBound(w.requests, 16).rate} vs ${traceBound}`);
    });
  }
});
