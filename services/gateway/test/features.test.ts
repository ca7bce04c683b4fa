/** n, stop strings, logprobs, cached tokens, include_usage, client disconnect, probes and metrics. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { chatPromptIds, referenceTokens, startHarness, type Harness } from './fixtures.ts';

describe('gateway features (llama)', () => {
  let h: Harness;
  before(async () => (h = await startHarness()));
  after(() => h.close());
  const msgs = [{ role: 'user' as const, content: 'Count with me please' }];

  it('n=2: choice i samples with seed + i', async () => {
    const ids = chatPromptIds(h.model, msgs[0].content);
    const r = await h.client.chat.completions.create({ model: h.model.id, messages: msgs, n: 2, seed: 40, temperature: 1, max_tokens: 8 });
    assert.equal(r.choices.length, 2);
    for (const i of [0, 1]) {
      const want = await referenceTokens(h, ids, { temperature: 1, seed: 40 + i, maxTokens: 8 });
      assert.equal(r.choices[i].index, i);
      assert.equal(r.choices[i].message.content, h.model.tokenizer.decode(want, { skipSpecialTokens: true }));
    }
  });

  it('stop string: text cut before it, finish_reason stop, request cancelled', async () => {
    const base = await h.client.completions.create({ model: h.model.id, prompt: [7, 8, 9, 10], max_tokens: 20, temperature: 0 });
    const full = base.choices[0].text;
    const stop = full.slice(4, 7);
    assert.ok(stop.length > 0 && !full.slice(0, 4).includes(stop));
    for (const stream of [false, true]) {
      let text = '';
      let finish: string | null = null;
      if (stream) {
        for await (const c of await h.client.completions.create({ model: h.model.id, prompt: [7, 8, 9, 10], max_tokens: 20, temperature: 0, stop: [stop, 'zzzz'], stream: true })) {
          text += c.choices[0]?.text ?? '';
          finish = c.choices[0]?.finish_reason ?? finish;
        }
      } else {
        const r = await h.client.completions.create({ model: h.model.id, prompt: [7, 8, 9, 10], max_tokens: 20, temperature: 0, stop });
        text = r.choices[0].text;
        finish = r.choices[0].finish_reason;
      }
      assert.equal(text, full.slice(0, full.indexOf(stop)));
      assert.equal(finish, 'stop');
    }
    await h.loop.whenIdle();
    assert.equal(h.loop.activeRequests, 0);
  });

  it('chat logprobs: content[{token, logprob, bytes, top_logprobs}]', async () => {
    const r = await h.client.chat.completions.create({ model: h.model.id, messages: msgs, max_tokens: 4, temperature: 0, logprobs: true, top_logprobs: 3 });
    const content = r.choices[0].logprobs?.content ?? [];
    assert.equal(content.length, 4);
    for (const t of content) {
      assert.equal(typeof t.token, 'string');
      assert.ok(t.logprob <= 0);
      assert.deepEqual(t.bytes, [...Buffer.from(t.token)]);
      assert.equal(t.top_logprobs.length, 3);
      assert.equal(t.top_logprobs[0].logprob, t.logprob, 'greedy picks the most likely token');
    }
  });

  it('completions logprobs: {tokens, token_logprobs, top_logprobs, text_offset}', async () => {
    const r = await h.client.completions.create({ model: h.model.id, prompt: [3, 4, 5], max_tokens: 5, temperature: 0, logprobs: 2 });
    const lp = r.choices[0].logprobs!;
    assert.equal(lp.tokens!.length, 5);
    assert.equal(lp.token_logprobs!.length, 5);
    assert.equal(Object.keys(lp.top_logprobs![0]).length <= 2, true);
    assert.equal(lp.text_offset![0], 0);
    assert.equal(lp.text_offset![1], lp.tokens![0].length);
  });

  it('a second request sharing a long prefix reports cached_tokens (and the same output)', async () => {
    const prompt = Array.from({ length: 40 }, (_, i) => 20 + i);
    const a = await h.client.completions.create({ model: h.model.id, prompt, max_tokens: 4, temperature: 0 });
    const b = await h.client.completions.create({ model: h.model.id, prompt, max_tokens: 4, temperature: 0 });
    assert.equal(a.usage?.prompt_tokens_details?.cached_tokens, 0);
    // 40 tokens = 10 blocks of 4; the last block is recomputed so one token yields logits.
    assert.equal(b.usage?.prompt_tokens_details?.cached_tokens, 36);
    assert.equal(b.choices[0].text, a.choices[0].text);
  });

  it('stream_options.include_usage: a final chunk with usage and no choices', async () => {
    const chunks = [];
    for await (const c of await h.client.chat.completions.create({ model: h.model.id, messages: msgs, max_tokens: 3, temperature: 0, stream: true, stream_options: { include_usage: true } })) chunks.push(c);
    const last = chunks.at(-1)!;
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage?.completion_tokens, 3);
    assert.ok(chunks.slice(0, -1).every((c) => c.usage === null));
  });

  it('client disconnect mid-stream cancels the request and frees every KV block', async () => {
    await h.loop.whenIdle();
    const baseline = h.engine.stats().blocks.usedBlocks;
    const body = JSON.stringify({ model: h.model.id, prompt: [5, 6, 7], max_tokens: 1000, temperature: 0, stream: true });
    await new Promise<void>((resolve, reject) => {
      const req = request(`${h.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        assert.equal(res.statusCode, 200);
        res.on('end', () => reject(new Error('the stream ended before the client disconnected')));
        let seen = 0;
        res.on('data', () => {
          if (++seen === 3) {
            assert.ok(h.engine.stats().blocks.usedBlocks > baseline);
            req.destroy();
            resolve();
          }
        });
      });
      req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)));
      req.end(body);
    });
    while (h.loop.activeRequests > 0) await new Promise((r) => setImmediate(r));
    await h.loop.whenIdle();
    assert.equal(h.engine.stats().running, 0);
    assert.equal(h.engine.stats().blocks.usedBlocks, baseline);
  });

  it('/v1/models, /healthz, /readyz, /metrics; x-request-id is echoed', async () => {
    const models = await h.client.models.list();
    assert.deepEqual(models.data.map((m) => m.id), [h.model.id]);
    assert.equal((await fetch(`${h.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${h.url}/readyz`)).status, 200);
    const res = await fetch(`${h.url}/metrics`, { headers: { 'x-request-id': 'my-req-1' } });
    assert.equal(res.headers.get('x-request-id'), 'my-req-1');
    const text = await res.text();
    for (const m of ['duet_gateway_ttft_seconds', 'duet_gateway_inter_token_latency_seconds', 'duet_gateway_requests_total', 'duet_gateway_running_requests', 'duet_gateway_prompt_tokens_total', 'duet_gateway_cached_prompt_tokens_total']) {
      assert.ok(text.includes(m), m);
    }
    assert.match(text, /duet_gateway_requests_total\{endpoint="\/v1\/completions",status="200"/);
    assert.match((await fetch(`${h.url}/healthz`)).headers.get('x-request-id') ?? '', /^req-[0-9a-f]{24}$/);
  });
});
