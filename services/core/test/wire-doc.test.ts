/** docs/wire.md cannot go stale: its subject table is checked against Subjects, its messages against `wire`. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as core from '../src/index.ts';

const doc = readFileSync(new URL('../../../docs/wire.md', import.meta.url), 'utf8');

interface Row {
  method: string;
  args: string[];
  subject: string;
  messages: string[];
}

function subjectRows(): Row[] {
  const section = doc.slice(doc.indexOf('## Subjects'), doc.indexOf('## Messages'));
  return [...section.matchAll(/^\| `(\w+)\(([^)]*)\)` \| `([^`]+)` \| ([^|]+) \|/gm)].map((m) => ({
    method: m[1],
    args: m[2] ? m[2].split(',').map((a) => a.trim()) : [],
    subject: m[3],
    messages: [...m[4].matchAll(/`(\w+)`/g)].map((x) => x[1]),
  }));
}

void describe('docs/wire.md', () => {
  const subjects = new core.Subjects();
  const rows = subjectRows();

  void it('subject table: every row is what Subjects builds', () => {
    assert.ok(rows.length >= 15, `parsed only ${rows.length} rows`);
    for (const row of rows) {
      const fn = (subjects as unknown as Record<string, (...a: string[]) => string>)[row.method];
      assert.equal(typeof fn, 'function', `Subjects.${row.method} does not exist`);
      const got = fn.apply(subjects, row.args.map((a) => `X_${a}`));
      const want = row.args.reduce((s, a) => s.replace(`<${a}>`, `X_${a}`), row.subject);
      assert.equal(got, want, row.method);
    }
  });

  void it('subject table: lists every subject method', () => {
    const documented = new Set(rows.map((r) => r.method));
    const methods = Object.getOwnPropertyNames(core.Subjects.prototype).filter((n) => n !== 'constructor' && n !== 'transfer');
    assert.deepEqual(methods.filter((m) => !documented.has(m)), []);
  });

  void it('subject table: every message named is a real wire message', () => {
    const typeNames = new Set(Object.values(core.wire).map((c) => c.typeName.replace('duet.v1.', '')));
    for (const row of rows) for (const m of row.messages) assert.ok(typeNames.has(m), `${row.method}: unknown message ${m}`);
  });

  void it('every wire message is mentioned', () => {
    for (const codec of Object.values(core.wire)) {
      const name = codec.typeName.replace('duet.v1.', '');
      assert.ok(doc.includes(`\`${name}\``), `${name} not in docs/wire.md`);
    }
  });

  void it('the chunk size it states is the one in code', () => {
    assert.match(doc, /`DEFAULT_KV_CHUNK_BYTES` = 768 KiB/);
    assert.equal(core.DEFAULT_KV_CHUNK_BYTES, 768 * 1024);
  });
});
