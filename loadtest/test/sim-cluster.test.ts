/**
 * The simulated cluster with the real router: one disaggregated request timed by hand (prefill in
 * chunks, KV over the link layer by layer, decode), placement quality (prefix-aware vs random), the
 * router's state agreeing with the workers', aggregated mode, and refusals.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SimCluster, SimRouter, Rng, buildSource, engineConfig, simulate, type SimRequest } from '../src/index.ts';
import { hx, req, testCost } from './sim-fixtures.ts';

const close = (a: number | null, b: number): void => assert.ok(a !== null && Math.abs(a - b) < 1e-9, `${a} ≠ ${b}`);

function cluster(prefill: number, decode: number, policy: string, numBlocks = 64): SimCluster {
  const rng = new Rng(1, 1);
  return new SimCluster({
    cost: testCost({}, { bandwidthMBps: 1, kvBytesPerToken: 256 }), engine: { blockSize: 4, numBlocks, maxBatchTokens: 8, maxRunningSeqs: 4 },
    prefill, decode, policy, random: () => rng.next(), workerStartupMs: 0,
  });
}

describe('sim cluster', () => {
  test('a disaggregated request: chunks, the layer-wise transfer, then decode (times by hand)', async () => {
    const c = cluster(1, 1, 'round-robin');
    const [t] = await c.run([req('r', 10, 3, [hx('h0'), hx('h1')])], null);
    // prefill-0: step [0, 18] 8 tokens, step [18, 30] 2 tokens → first token at 30
    // link (1 MB/s, 256 B/token, 2 layers): chunk 1 = 2048 B = 2.048 ms → done max(0 + 2.048, 18 + 1.024) = 19.024
    //                                      chunk 2 = 512 B = 0.512 ms → done max(19.024 + 0.512, 30 + 0.256) = 30.256
    // first token when both are done: 30.256; decode-0 then steps 10 + 2 = 12 ms → 42.256, 54.256
    close(t.firstTokenMs, 30.256);
    assert.deepEqual(t.tokenTimesMs.map((x) => Math.round(x * 1000)), [30256, 42256, 54256]);
    assert.equal(t.outputTokens, 3);
    assert.equal(t.cachedTokens, 0);
    assert.equal(t.error, null);
    const s = c.simStats();
    assert.equal(s.disaggregated, 1);
    assert.equal(s.transferredBytes, 2560);
    // the router: reservation released by PREFILL_DONE and FINISHED; both workers' blocks indexed
    assert.equal(c.router.accounting.openReservations, 0);
    assert.deepEqual(c.router.index.hashesOf('prefill-0').sort(), [hx('h0'), hx('h1')].sort());
    assert.deepEqual(c.router.index.hashesOf('decode-0').sort(), [hx('h0'), hx('h1')].sort());
  });

  test('a one-token answer is prefilled on the decode worker; the prefill worker computes anyway', async () => {
    const c = cluster(1, 1, 'round-robin');
    const [t] = await c.run([req('one', 10, 1, [hx('h0'), hx('h1')])], null);
    // decode-0 prefills locally: 10 + 8 = 18, then 10 + 2 = 12 → the only token at 30 (no transfer)
    assert.deepEqual(t.tokenTimesMs, [30]);
    const [p, d] = ['prefill-0', 'decode-0'].map((id) => c.live().find((w) => w.id === id)!);
    assert.equal(p.stats.prefillTokens, 10);
    assert.equal(d.stats.prefillTokens, 10);
    assert.equal(c.simStats().transferredBytes, 0);
    assert.equal(c.simStats().transferFallbacks, 0);
    assert.equal(c.router.accounting.openReservations, 0);
  });

  test('prefix-aware placement finds the shared prefixes random placement misses', async () => {
    const run = async (policy: string) => {
      const source = await buildSource({
        workload: { name: 'shared-prefix', groups: 4, questionsPerGroup: 8, systemTokens: 128, questionTokens: 16, maxTokens: 4 },
        arrival: { kind: 'poisson', ratePerS: 5, seed: 3 }, blockSize: 16, shape: { vocabSize: 1024, maxContextTokens: 2048 },
      });
      const cost = testCost({ baseMs: 5, prefillTokenMs: 0.5, decodeSeqMs: 1 }, { bandwidthMBps: 100 });
      return simulate({ source, cost, engine: engineConfig(cost, { numKvBlocks: 256 }), prefill: 4, decode: 4, policy, seed: 5 });
    };
    const prefix = await run('prefix-load');
    const random = await run('random');
    for (const r of [prefix, random]) assert.equal(r.result.failed, 0);
    // 4 groups × 8: an unlimited shared cache serves 28 of 32 system prompts = 28·128 / (32·144)
    close(prefix.result.prefix_hit_rate_upper_bound, (28 * 128) / (32 * 144));
    assert.ok(prefix.result.prefix_hit_rate! > random.result.prefix_hit_rate! + 0.2, `prefix-load ${prefix.result.prefix_hit_rate} vs random ${random.result.prefix_hit_rate}`);
    assert.ok(prefix.result.ttft_mean_ms! < random.result.ttft_mean_ms!);
    assert.equal(prefix.result.simulation.policy, 'prefix-load');
    assert.equal(random.result.simulation.policy, 'random');
  });

  test('after a run the router holds no reservation and indexes exactly what every worker caches', async () => {
    const c = cluster(2, 2, 'prefix-load');
    const reqs: SimRequest[] = Array.from({ length: 12 }, (_, i) => req(`q${i}`, 13, 2, [hx('s0'), hx('s1'), hx(`u${i}`)], i * 5));
    const timings = await c.run(reqs, null);
    assert.equal(timings.filter((t) => t.error).length, 0);
    assert.equal(c.router.accounting.openReservations, 0);
    for (const w of c.live()) assert.equal(c.router.index.blocksOf(w.id), w.cache.cachedBlocks, w.id);
  });

  test('aggregated: no prefill pool, decode workers in role both prefill locally', async () => {
    const c = cluster(0, 2, 'prefix-load');
    const timings = await c.run([req('a', 10, 3, [hx('h0'), hx('h1')]), req('b', 10, 3, [hx('h0'), hx('h1')], 100)], null);
    assert.deepEqual(c.live().map((w) => w.role), ['both', 'both']);
    assert.equal(c.simStats().disaggregated, 0);
    assert.equal(c.simStats().local, 2);
    // b lands where a left h0 h1 (prefix-affinity): 8 of its 10 tokens cached
    assert.equal(timings[1].cachedTokens, 8);
  });

  test('refusals: a request larger than a KV pool is invalid; a full decode pool has no capacity', async () => {
    // 8 blocks of 4 = 32 token slots per worker. round-robin has no kv-capacity filter: the decode
    // worker itself refuses 40 + 2 tokens
    const rr = cluster(1, 1, 'round-robin', 8);
    const [huge] = await rr.run([req('huge', 40, 2, [])], null);
    assert.equal(huge.error, 'http_400:invalid_request');
    assert.equal(rr.router.accounting.openReservations, 0);
    // prefix-load filters on the router's reservations: a holds 7 of 8 blocks, so b (7 more) has no
    // decode worker, and neither has the huge one
    const pl = cluster(1, 1, 'prefix-load', 8);
    const t = await pl.run([req('a', 20, 8, [], 1), req('b', 20, 8, [], 2), req('huge', 40, 2, [], 3)], null);
    assert.deepEqual(Object.fromEntries(t.map((x) => [x.id, x.error])), { a: null, b: 'http_503:no_capacity', huge: 'http_503:no_capacity' });
    assert.equal(pl.router.accounting.openReservations, 0);
  });

  test("the router's pending prefixes expire on simulated time, not the wall clock", () => {
    let now = 0;
    const r = new SimRouter({ policy: 'round-robin', random: () => 0, now: () => now, model: 'm' });
    r.fleet.pending.record([hx('p0')], ['decode-0']);
    assert.deepEqual([...r.fleet.pending.match([hx('p0')])], [['decode-0', 1]]);
    now = 60_000; // past their 30 s TTL, a few microseconds of real time later
    assert.equal(r.fleet.pending.match([hx('p0')]).size, 0);
  });
});
