/** Azure trace replay: CSV parsing, timestamps from the first row, length scaling and context cuts. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { azureWorkload, parseAzure, prefixReuseBound, tokenRangeForVocab } from '../src/index.ts';

const text = readFileSync(fileURLToPath(new URL('./fixtures/azure-small.csv', import.meta.url)), 'utf8');
const SHARED = fileURLToPath(new URL('../../../shared/workloads/azure/', import.meta.url));
const range = tokenRangeForVocab(1024);

describe('azure trace', () => {
  test('rows with ms offsets from the first timestamp', () => {
    const rows = parseAzure(text, 'azure-small.csv');
    assert.equal(rows.length, 5);
    assert.deepEqual(rows.map((r) => Math.round(r.timestampMs * 1000) / 1000), [0, 300, 4314.579, 4319.41, 14000]);
    assert.deepEqual(rows[0], { timestampMs: 0, contextTokens: 374, generatedTokens: 44 });
  });

  test('lengths × scale (at least 1), prompts cut to fit the context, no shared prefixes', () => {
    const w = azureWorkload(parseAzure(text), { lengthScale: 1 / 8, maxContextTokens: 1024, range });
    // 374/8 = 46.75 → 47, 44/8 = 5.5 → 6; 16000/8 = 2000 → cut to 1024 − 1 = 1023; 0 generated → 1
    assert.deepEqual(w.requests.map((r) => r.promptIds.length), [47, 100, 50, 1023, 1]);
    assert.deepEqual(w.requests.map((r) => r.maxTokens), [6, 1, 14, 1, 1]);
    assert.equal(w.params.truncated, 1);
    assert.equal(w.timed, true);
    assert.equal(prefixReuseBound(w.requests, 16).rate, 0);
  });

  test('bad rows name the line', () => {
    assert.throws(() => parseAzure('TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,x,1\n', 'a.csv'), /a\.csv:2: ContextTokens/);
    assert.throws(() => parseAzure('TIMESTAMP,ContextTokens,GeneratedTokens\nyesterday,1,1\n', 'a.csv'), /a\.csv:2: bad TIMESTAMP/);
    assert.throws(() => parseAzure('time,ctx\n', 'a.csv'), /a\.csv:1: missing column "TIMESTAMP"/);
  });

  test('the real code trace parses', { skip: !existsSync(SHARED + 'AzureLLMInferenceTrace_code.csv') && 'trace not present' }, () => {
    const rows = parseAzure(readFileSync(SHARED + 'AzureLLMInferenceTrace_code.csv', 'utf8'));
    assert.equal(rows.length, 8819);
    // README: a 3,436 s span
    assert.ok(Math.abs(rows[rows.length - 1].timestampMs / 1000 - 3436) < 1);
  });
});
