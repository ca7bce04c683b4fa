/** The progress line: a redrawn bar on a terminal, plain periodic lines otherwise. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Progress, type RequestTiming } from '../src/index.ts';

const timing = (ttft: number, error: string | null = null): RequestTiming => ({
  id: 'x', startMs: 0, firstTokenMs: error ? null : ttft, tokenTimesMs: error ? [] : [ttft], endMs: ttft, promptTokens: 1, outputTokens: 1, cachedTokens: 0, error,
});

function setup(isTTY: boolean): { p: Progress; out: string[]; clock: { t: number } } {
  const out: string[] = [];
  const clock = { t: 0 };
  const p = new Progress({ total: 8, out: { write: (s: string) => out.push(s), isTTY }, now: () => clock.t });
  return { p, out, clock };
}

describe('progress', () => {
  test('terminal: a bar with done, errors, rate and running p50 TTFT, redrawn in place', () => {
    const { p, out, clock } = setup(true);
    clock.t = 2000;
    p.record(timing(100));
    p.record(timing(300));
    p.record(timing(200));
    p.record(timing(0, 'timeout'));
    // 4 done in 2 s → 2.0 req/s; TTFTs of successes 100 200 300 → p50 200
    assert.equal(p.line(), `[${'█'.repeat(12)}${'░'.repeat(12)}] 4/8 done · 1 error · 2.0 req/s · p50 TTFT 200 ms`);
    p.render();
    assert.ok(out[0].startsWith('\r\x1b[K['));
    p.stop();
    assert.equal(out[out.length - 1], '\n');
  });

  test('not a terminal: plain lines; the rate counts the last 10 s only', () => {
    const { p, out, clock } = setup(false);
    clock.t = 1000;
    p.record(timing(50));
    clock.t = 20_000;
    p.record(timing(150));
    p.record(timing(250));
    // In (10 s, 20 s]: 2 completions over 10 s
    assert.equal(p.line(), 'loadtest: 3/8 done, 0 errors, 0.2 req/s, p50 TTFT 150 ms');
    p.render();
    assert.equal(out[0], 'loadtest: 3/8 done, 0 errors, 0.2 req/s, p50 TTFT 150 ms\n');
  });

  test('before any success the TTFT reads –', () => {
    const { p } = setup(false);
    assert.match(p.line(), /p50 TTFT –$/);
  });
});
