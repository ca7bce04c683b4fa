import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidSubjectError, Subjects, subjectToken } from '../src/index.ts';

void describe('Subjects', () => {
  const s = new Subjects();

  void it('builds every subject under duet.<area>', () => {
    assert.equal(s.workerHeartbeat('prefill-0'), 'duet.workers.heartbeat.prefill-0');
    assert.equal(s.allWorkerHeartbeats(), 'duet.workers.heartbeat.*');
    assert.equal(s.kvEvents('w1'), 'duet.kv.events.w1');
    assert.equal(s.kvSnapshot('w1'), 'duet.kv.snapshot.w1');
    assert.equal(s.routerPlace(), 'duet.router.place');
    assert.equal(s.prefillRun('p1'), 'duet.prefill.p1.run');
    assert.equal(s.decodeRun('d1'), 'duet.decode.d1.run');
    assert.equal(s.kvOffer('d1'), 'duet.decode.d1.kv-offer');
    assert.equal(s.tokens('req-9'), 'duet.tokens.req-9');
    assert.equal(s.cancel('req-9'), 'duet.cancel.req-9');
    assert.equal(s.allCancels(), 'duet.cancel.*');
    assert.equal(s.load('d1'), 'duet.load.d1');
    assert.deepEqual(s.transfer('x7'), { data: 'duet.kvx.x7.data', credit: 'duet.kvx.x7.credit', ctl: 'duet.kvx.x7.ctl' });
    assert.equal(s.all(), 'duet.>');
  });

  void it('puts a multi-token prefix in front of everything', () => {
    const t = new Subjects('t1234.duet');
    assert.equal(t.tokens('r'), 't1234.duet.tokens.r');
    assert.equal(t.all(), 't1234.duet.>');
  });

  void it('refuses ids that would split or widen a subject, naming the part', () => {
    // Each of these would publish to, or subscribe on, someone else's subject.
    for (const bad of ['', 'a.b', '*', 'a>', 'a b', 'tab\there', 'é', 'new\nline']) {
      assert.throws(
        () => s.workerHeartbeat(bad),
        (e: unknown) => e instanceof InvalidSubjectError && e.part === 'workerId' && e.value === bad && e.message.includes('workerId'),
        `accepted ${JSON.stringify(bad)}`,
      );
    }
    assert.throws(() => s.tokens('a.b'), /requestId "a.b".*'\.'/);
    assert.throws(() => s.kvxData('t*'), /transferId.*wildcards/);
    assert.throws(() => subjectToken('x', 'y'.repeat(257)), /longer than 256/);
  });

  void it('refuses a bad prefix at construction', () => {
    for (const bad of ['', '.duet', 'duet.', 'a..b', 'duet.*', 'du et']) {
      assert.throws(() => new Subjects(bad), InvalidSubjectError, `accepted prefix ${JSON.stringify(bad)}`);
    }
  });

  void it('accepts the id shapes we generate (uuids, pod names, base64url)', () => {
    for (const ok of ['3f2c9a4e-1b7d-4c1e-9b0a-2d5f8e6a7c10', 'duet-prefill-7d9f8-abcde', 'chatcmpl-AbC_12', 'w:1']) {
      assert.equal(subjectToken('id', ok), ok);
    }
  });
});
