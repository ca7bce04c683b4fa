import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as hf from '@huggingface/tokenizers';
import { createModel } from '../../src/model/create.ts';
import { buildTokenizerConfig, buildTokenizerJson } from '../../src/model/tokenizer-gen.ts';
import { TOKEN_DOMAINS } from '../../src/model/vocab.ts';
import { tokenDomains } from '../../src/model/domains.ts';
import { loadTokenizer, type DuetTokenizer } from '../../src/tokenizer/tokenizer.ts';

interface Hf {
  encode(text: string): { ids: number[] };
  decode(ids: number[]): string;
  get_vocab(withAdded: boolean): Map<string, number>;
  id_to_token(id: number): string | undefined;
}
const HfTokenizer = (hf as unknown as { Tokenizer: new (a: object, b: object) => Hf }).Tokenizer;

const TEXTS = [
  'Hello, world! The matrix theorem holds.',
  ' const class catch kernel json',
  'naïve café — 日本語のテキスト 🎉🚀 ok',
  'tabs\tand\nnewlines\r\n  double  spaces  ',
  "it's 3.14159 and 2+2=4; x = [1, 2, 3] // done",
];

let dir = '';
let tok: DuetTokenizer;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'duet-tok-'));
  await createModel({ arch: 'llama', preset: 'tiny', seed: 0, outDir: dir });
  tok = await loadTokenizer(dir);
});
after(() => rm(dir, { recursive: true, force: true }));

test('@huggingface/tokenizers loads the generated tokenizer with the exact vocab size', () => {
  for (const v of [1024, 8000, 32000]) {
    const t = new HfTokenizer(buildTokenizerJson(v), buildTokenizerConfig(v, 4096));
    assert.equal(t.get_vocab(true).size, v);
    assert.equal(t.id_to_token(v - 1), '<|eot_id|>');
    for (const s of TEXTS) assert.equal(t.decode(t.encode(s).ids.slice(1)), s);
  }
});

test('encode/decode round trip, BOS policy and special tokens', () => {
  assert.equal(tok.vocabSize, 1024);
  assert.equal(tok.bosTokenId, 1019);
  assert.deepEqual(tok.eosTokenIds, [1020, 1023]);
  for (const s of TEXTS) {
    const ids = tok.encode(s, { addSpecialTokens: false });
    assert.equal(tok.decode(ids), s);
    assert.deepEqual(tok.encode(s), [1019, ...ids]);
  }
  const ids = tok.encode('<|start_header_id|>user<|end_header_id|>', { addSpecialTokens: false });
  assert.deepEqual([ids[0], ids.at(-1)], [1021, 1022]);
  assert.ok(tok.isSpecial(1021) && !tok.isSpecial(65));
  assert.equal(tok.decode(ids, { skipSpecialTokens: true }), 'user');
});

test('every domain token is one word prefix starting with a domain onset', () => {
  const domains = tokenDomains(1024);
  for (const block of domains.domains) {
    const spec = TOKEN_DOMAINS[block.index];
    for (let id = block.firstId; id < block.endId; id++) {
      const text = tok.decode([id]);
      assert.ok(text.startsWith(' ') && spec.onsets.includes(text[1]), `${id} → ${JSON.stringify(text)}`);
      assert.deepEqual(tok.encode(text, { addSpecialTokens: false }), [id]);
    }
  }
  assert.deepEqual(tok.encode(' matrix theorem', { addSpecialTokens: false }).length, 2);
});

test('chat template renders Llama-3 framing', async () => {
  const rendered = tok.applyChatTemplate(
    [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: ' Hi there ' },
    ],
    { addGenerationPrompt: true },
  );
  assert.equal(
    rendered,
    '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>' +
      '<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
  );
  const ids = tok.encode(rendered, { addSpecialTokens: false });
  assert.equal(ids.filter((i) => i === tok.bosTokenId).length, 1);
  const cfg = JSON.parse(await readFile(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(cfg.add_bos_token, true);
  assert.equal(typeof cfg.chat_template, 'string');
});

test('stream decoder never splits a UTF-8 character and reassembles the text', () => {
  for (const s of TEXTS) {
    const ids = tok.encode(s, { addSpecialTokens: false });
    const detok = tok.streamDecoder();
    const parts = ids.map((id) => detok.push(id));
    parts.push(detok.flush());
    assert.equal(parts.join(''), s);
    for (const p of parts) assert.ok(!p.includes('\uFFFD'), `partial character in ${JSON.stringify(p)}`);
  }
  // Special tokens can be skipped while streaming.
  const detok = tok.streamDecoder({ skipSpecialTokens: true });
  assert.equal(detok.push([1021, ...tok.encode('ok', { addSpecialTokens: false }), 1023]) + detok.flush(), 'ok');
  // 日 is three byte tokens: nothing is emitted until the character is complete.
  const bytes = tok.encode('日', { addSpecialTokens: false });
  assert.equal(bytes.length, 3);
  const held = tok.streamDecoder();
  assert.equal(held.push(bytes[0]), '');
  assert.equal(held.push(bytes[1]), '');
  assert.equal(held.push(bytes[2]), '日');
  // At the end of a stream a dangling lead byte is flushed rather than lost.
  const dangling = tok.streamDecoder();
  assert.equal(dangling.push(bytes[0]), '');
  assert.ok(dangling.flush().length > 0);
});
