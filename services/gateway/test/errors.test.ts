/** Every gateway error case: status and OpenAI error body `{error: {message, type, param, code}}`. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './fixtures.ts';

async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; error: { message: string; type: string; param: string | null; code: string | null } }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, ...((await res.json()) as { error: { message: string; type: string; param: string | null; code: string | null } }) };
}

describe('gateway errors', () => {
  let h: Harness;
  let keyed: Harness;
  before(async () => {
    h = await startHarness({ bodyLimitBytes: 4096 });
    keyed = await startHarness({ apiKeys: new Map([['sk-good', 'tenant-a']]) });
  });
  after(async () => {
    await h.close();
    await keyed.close();
  });
  const chat = (extra: object): string => JSON.stringify({ model: h.model.id, messages: [{ role: 'user', content: 'hi' }], ...extra });

  it('malformed JSON → 400', async () => {
    const r = await post(`${h.url}/v1/chat/completions`, '{"model": ');
    assert.equal(r.status, 400);
    assert.equal(r.error.type, 'invalid_request_error');
    assert.equal(r.error.code, 'invalid_json');
  });

  it('wrong type or out of range → 400 naming the field', async () => {
    const cases: [object, string][] = [
      [{ temperature: 'hot' }, 'temperature'],
      [{ temperature: 3 }, 'temperature'],
      [{ top_p: 0 }, 'top_p'],
      [{ max_tokens: 0 }, 'max_tokens'],
      [{ n: 0 }, 'n'],
      [{ stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
      [{ messages: [] }, 'messages'],
      [{ messages: 'hi' }, 'messages'],
      [{ top_logprobs: 2 }, 'top_logprobs'],
    ];
    for (const [extra, param] of cases) {
      const r = await post(`${h.url}/v1/chat/completions`, chat(extra));
      assert.equal(r.status, 400, JSON.stringify(extra));
      assert.equal(r.error.param, param, JSON.stringify(extra));
      assert.equal(r.error.type, 'invalid_request_error');
    }
    const c = await post(`${h.url}/v1/completions`, JSON.stringify({ model: h.model.id, prompt: 42 }));
    assert.deepEqual([c.status, c.error.param], [400, 'prompt']);
  });

  it('prompt + max_tokens beyond the context → 400 with param messages / prompt', async () => {
    const r = await post(`${h.url}/v1/chat/completions`, chat({ max_tokens: 2048 }));
    assert.deepEqual([r.status, r.error.param, r.error.code], [400, 'messages', 'context_length_exceeded']);
    const c = await post(`${h.url}/v1/completions`, JSON.stringify({ model: h.model.id, prompt: ' a'.repeat(1200), max_tokens: 1000 }));
    assert.deepEqual([c.status, c.error.param], [400, 'prompt']);
  });

  it('unknown model → 404 with param model', async () => {
    const r = await post(`${h.url}/v1/chat/completions`, JSON.stringify({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }));
    assert.deepEqual([r.status, r.error.type, r.error.param, r.error.code], [404, 'not_found_error', 'model', 'model_not_found']);
  });

  it('body over the size limit → 413', async () => {
    const r = await post(`${h.url}/v1/chat/completions`, chat({ pad: 'x'.repeat(5000) }));
    assert.deepEqual([r.status, r.error.code], [413, 'request_too_large']);
  });

  it('API keys: missing or wrong key → 401; the right key works', async () => {
    const body = JSON.stringify({ model: keyed.model.id, prompt: [5, 6], max_tokens: 2 });
    const none = await post(`${keyed.url}/v1/completions`, body);
    assert.deepEqual([none.status, none.error.type, none.error.code], [401, 'authentication_error', 'invalid_api_key']);
    const bad = await post(`${keyed.url}/v1/completions`, body, { authorization: 'Bearer sk-bad' });
    assert.equal(bad.status, 401);
    const ok = await keyed.client.completions.create({ model: keyed.model.id, prompt: [5, 6], max_tokens: 2 });
    assert.equal(ok.choices.length, 1);
  });

  it('unknown route → 404 in the same shape', async () => {
    const res = await fetch(`${h.url}/v1/nothing`);
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { error: { type: string } }).error.type, 'not_found_error');
  });

  it('a request that outlasts --request-timeout-ms → 504 and its KV is freed', async () => {
    const slow = await startHarness({ requestTimeoutMs: 30 });
    try {
      const base = slow.engine.stats().blocks.usedBlocks;
      const r = await post(`${slow.url}/v1/completions`, JSON.stringify({ model: slow.model.id, prompt: 'the kernel', max_tokens: 400, temperature: 0 }));
      assert.equal(r.status, 504);
      assert.equal(r.error.code, 'timeout');
      await slow.loop.whenIdle();
      assert.equal(slow.engine.stats().blocks.usedBlocks, base);
    } finally {
      await slow.close();
    }
  });
});
