/**
 * The `duet` command as a user runs it: `model create` then `generate --json`, for both
 * architectures, in separate processes. Output must be deterministic and equal to the engine's
 * greedy reference on the same folder.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { loadModel } from '@duet/engine';
import { referenceGreedy } from '../../engine/test/reference/reference-model.ts';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../bin/duet.js', import.meta.url));

async function duet(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { timeout: 120_000 });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

interface GenerateJson {
  prompt_ids: number[];
  tokens: number[];
  text: string;
  finish_reason: string;
}

for (const arch of ['llama', 'moe'] as const) {
  describe(`duet model create + generate (${arch})`, () => {
    let dir = '';
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), `duet-cli-${arch}-`));
      const r = await duet('model', 'create', '--arch', arch, '--preset', 'tiny', '--seed', '3', '--out', dir);
      assert.equal(r.code, 0, r.stderr);
    });

    test('writes a Hugging Face folder', async () => {
      const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as { model_type: string };
      assert.equal(config.model_type, arch === 'moe' ? 'mixtral' : 'llama');
      for (const f of ['model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) {
        await readFile(join(dir, f));
      }
    });

    test('generate --json with temperature 0 equals the reference greedy tokens', async () => {
      const r = await duet('generate', '--model', dir, '--prompt-ids', '300,301,302,303,304', '--max-tokens', '6', '--temperature', '0', '--json');
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout.trim()) as GenerateJson;
      assert.deepEqual(out.prompt_ids, [300, 301, 302, 303, 304]);
      const model = await loadModel(dir);
      const expected = referenceGreedy(model.config, model.weights, out.prompt_ids, 6);
      const eos = expected.findIndex((t) => model.config.eosTokenIds.includes(t));
      assert.deepEqual(out.tokens, eos >= 0 ? expected.slice(0, eos + 1) : expected);
      assert.equal(typeof out.text, 'string');
    });

    test('seeded sampling from a text prompt is deterministic across processes', async () => {
      const args = ['generate', '--model', dir, '--prompt', 'the kernel and the matrix', '--max-tokens', '8', '--temperature', '0.9', '--seed', '11', '--json'];
      const [a, b] = await Promise.all([duet(...args), duet(...args)]);
      assert.equal(a.code, 0, a.stderr);
      assert.equal(a.stdout, b.stdout);
      const out = JSON.parse(a.stdout.trim()) as GenerateJson;
      assert.ok(out.prompt_ids.length > 0 && out.tokens.length > 0);
      await rm(dir, { recursive: true, force: true });
    });
  });
}

describe('duet usage errors', () => {
  test('a missing flag exits 2 with the usage', async () => {
    const r = await duet('generate', '--max-tokens', '3');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--model is required/);
    assert.match(r.stderr, /usage:/);
  });

  test('both --prompt and --prompt-ids is refused', async () => {
    const r = await duet('generate', '--model', '/nonexistent', '--prompt', 'x', '--prompt-ids', '1', '--max-tokens', '1');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /exactly one of --prompt or --prompt-ids/);
  });

  test('duet start refuses a --threads that is neither auto nor a positive integer, before starting anything', async () => {
    for (const bad of ['0', 'two']) {
      const r = await duet('start', '--threads', bad);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /--threads must be auto or a positive integer/);
    }
  });

  test('a folder that is not a model fails with a clear message', async () => {
    const r = await duet('generate', '--model', '/nonexistent-duet-model', '--prompt-ids', '1', '--max-tokens', '1');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /config\.json/);
  });
});
