/**
 * The official openai client against the gateway over a real engine (tiny llama and MoE models):
 * it gets exactly the tokens `Engine.generate` gives for the same prompt ids and parameters.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chatPromptIds, referenceTokens, startHarness, type Harness } from './fixtures.ts';

for (const arch of ['llama', 'moe'] as const) {
  describe(`openai client parity (${arch})`, () => {
    let h: Harness;
    before(async () => (h = await startHarness({ arch })));
    after(() => h.close());

    it('chat, non-streaming, greedy: same text and token count as the engine', async () => {
      const ids = chatPromptIds(h.model, 'Hello there, model.');
      const want = await referenceTokens(h, ids, { temperature: 0, maxTokens: 12 });
      const r = await h.client.chat.completions.create({ model: h.model.id, messages: [{ role: 'user', content: 'Hello there, model.' }], max_tokens: 12, temperature: 0 });
      assert.equal(r.object, 'chat.completion');
      assert.equal(r.choices[0].message.content, h.model.tokenizer.decode(want, { skipSpecialTokens: true }));
      assert.equal(r.usage?.completion_tokens, want.length);
      assert.equal(r.usage?.prompt_tokens, ids.length);
      assert.equal(r.usage?.total_tokens, ids.length + want.length);
      assert.equal(r.choices[0].finish_reason, want.length === 12 ? 'length' : 'stop');
    });

    it('chat, streaming, seeded: chunks concatenate to the engine output, then [DONE]', async () => {
      const ids = chatPromptIds(h.model, 'Tell me a story');
      const want = await referenceTokens(h, ids, { temperature: 0.8, topP: 0.9, seed: 1234, maxTokens: 16 });
      const stream = await h.client.chat.completions.create({
        model: h.model.id, messages: [{ role: 'user', content: 'Tell me a story' }], max_completion_tokens: 16, temperature: 0.8, top_p: 0.9, seed: 1234, stream: true,
      });
      let text = '';
      let role = '';
      let finish: string | null = null;
      for await (const c of stream) {
        assert.equal(c.object, 'chat.completion.chunk');
        role ||= c.choices[0]?.delta.role ?? '';
        text += c.choices[0]?.delta.content ?? '';
        finish = c.choices[0]?.finish_reason ?? finish;
      }
      assert.equal(role, 'assistant');
      assert.equal(text, h.model.tokenizer.decode(want, { skipSpecialTokens: true }));
      assert.ok(finish === 'length' || finish === 'stop');
    });

    it('completions with token-id prompt, non-streaming and streaming, seeded', async () => {
      const ids = [5, 77, 300, 41, 9, 600, 12, 13];
      const want = await referenceTokens(h, ids, { temperature: 1, seed: 99, maxTokens: 10 });
      const wantText = h.model.tokenizer.decode(want, { skipSpecialTokens: true });
      const r = await h.client.completions.create({ model: h.model.id, prompt: ids, max_tokens: 10, seed: 99 });
      assert.equal(r.object, 'text_completion');
      assert.equal(r.choices[0].text, wantText);
      assert.equal(r.usage?.completion_tokens, want.length);
      const s = await h.client.completions.create({ model: h.model.id, prompt: ids, max_tokens: 10, seed: 99, stream: true });
      let text = '';
      for await (const c of s) text += c.choices[0]?.text ?? '';
      assert.equal(text, wantText);
    });

    it('completions with a string prompt encode it with BOS', async () => {
      const ids = h.model.tokenizer.encode('The matrix theorem');
      const want = await referenceTokens(h, ids, { temperature: 0, maxTokens: 6 });
      const r = await h.client.completions.create({ model: h.model.id, prompt: 'The matrix theorem', max_tokens: 6, temperature: 0 });
      assert.equal(r.choices[0].text, h.model.tokenizer.decode(want, { skipSpecialTokens: true }));
      assert.equal(r.usage?.prompt_tokens, ids.length);
    });
  });
}
