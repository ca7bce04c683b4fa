/**
 * The streaming client against a hand-written fake server: timings and usage on success, and the
 * error class of each failure (HTTP status, error event, timeout, missing [DONE], refused).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '@duet/testkit';
import { apiBase, completionsClient, listModels, type WorkloadRequest } from '../src/index.ts';
import { sseData } from '../src/client/sse.ts';
import { startFakeServer, type FakeServer } from './fake-server.ts';

const req = (id: string, prompt: number[], maxTokens = 3): WorkloadRequest => ({ id, arrivalMs: 0, promptIds: prompt, maxTokens });
const ctx = { now: () => performance.now(), signal: new AbortController().signal };
const prompt32 = Array.from({ length: 40 }, (_, i) => 300 + i);

function* bytes(...parts: string[]): Generator<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

describe('sse parser', () => {
  test('events split across chunks, CRLF, multi-line data, a UTF-8 character split in two', async () => {
    const euro = Buffer.from('data: €\n\n');
    const out: string[] = [];
    const chunks = [...bytes('data: {"a"', ':1}\r\n\r\n: comment\n\ndata: x\ndata: y\n\n'), euro.subarray(0, 7), euro.subarray(7), Buffer.from('data: [DONE]')];
    for await (const d of sseData(chunks)) out.push(d);
    assert.deepEqual(out, ['{"a":1}', 'x\ny', '€', '[DONE]']);
  });
});

describe('completions client', () => {
  let fake: FakeServer;
  const modes: Record<number, 'http503' | 'stream-error' | 'stall' | 'no-done'> = {};
  before(async () => {
    fake = await startFakeServer({ behave: (i) => modes[i] ?? 'ok' });
  });
  after(() => fake.close());

  test('apiBase accepts the root or /v1', () => {
    assert.equal(apiBase('http://h:1'), 'http://h:1/v1');
    assert.equal(apiBase('http://h:1/v1/'), 'http://h:1/v1');
  });

  test('GET /v1/models gives ids and max_model_len', async () => {
    assert.deepEqual(await listModels(fake.url), [{ id: 'fake-model', maxModelLen: 2048 }]);
  });

  test('success: token times, usage and cached tokens; the request streams token ids with include_usage', async () => {
    const send = completionsClient({ url: fake.url, model: 'fake-model', timeoutMs: 5000 });
    const first = await send(req('a', prompt32), ctx);
    assert.equal(first.error, null);
    assert.equal(first.tokenTimesMs.length, 3);
    assert.equal(first.firstTokenMs, first.tokenTimesMs[0]);
    assert.ok(first.startMs <= (first.firstTokenMs ?? -1) && first.tokenTimesMs[2] <= first.endMs);
    assert.equal(first.outputTokens, 3);
    assert.equal(first.promptTokens, 40);
    assert.equal(first.cachedTokens, 0);
    // The same prompt again: its 2 full 16-token blocks are cached
    assert.equal((await send(req('b', prompt32), ctx)).cachedTokens, 32);
    assert.deepEqual(fake.bodies[0], { model: 'fake-model', prompt: prompt32, max_tokens: 3, temperature: 0, stream: true, stream_options: { include_usage: true } });
  });

  test('failures are classified, never thrown', async () => {
    const send = completionsClient({ url: fake.url, model: 'fake-model', timeoutMs: 1500 });
    const at = fake.bodies.length;
    Object.assign(modes, { [at]: 'http503', [at + 1]: 'stream-error', [at + 2]: 'stall', [at + 3]: 'no-done' });
    const r503 = await send(req('c', [300]), ctx);
    assert.equal(r503.error, 'http_503:no_capacity');
    assert.equal(r503.errorMessage, 'no decode capacity');
    const streamErr = await send(req('d', [300]), ctx);
    assert.equal(streamErr.error, 'stream:backend_error');
    assert.equal(streamErr.tokenTimesMs.length, 1);
    assert.equal((await send(req('e', [300]), ctx)).error, 'timeout');
    assert.equal((await send(req('f', [300]), ctx)).error, 'incomplete');
  });

  test('a closed port is a connection error; an aborted run is cancelled', async () => {
    const dead = completionsClient({ url: `http://127.0.0.1:${await freePort()}`, model: 'm', timeoutMs: 2000 });
    assert.equal((await dead(req('g', [300]), ctx)).error, 'connection');
    const ctrl = new AbortController();
    ctrl.abort();
    const send = completionsClient({ url: fake.url, model: 'fake-model', timeoutMs: 2000 });
    assert.equal((await send(req('h', [300]), { now: ctx.now, signal: ctrl.signal })).error, 'cancelled');
  });
});
