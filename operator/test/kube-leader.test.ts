/**
 * Lease-based leader election between two replicas against the API server double, with a shared
 * manual clock: each `tick` is one acquire-or-renew round trip. The invariant under test: at no
 * instant do both replicas count themselves leader, and a standby takes over only after the
 * leader has stopped renewing for a lease duration (or at once after a release).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { createLogger } from '@duet/core';
import { ManualClock } from '../src/kube/clock.ts';
import { LeaderElector, leaseClient } from '../src/kube/leader.ts';
import { KubeDouble } from './support/kube-double/index.ts';

const logger = createLogger('test', { level: 'silent' });
const timing = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

describe('LeaderElector', () => {
  let double: KubeDouble;
  let api: CoordinationV1Api;
  before(async () => {
    double = await KubeDouble.start();
    api = double.kubeConfig().makeApiClient(CoordinationV1Api);
  });
  after(async () => double.close());

  const pair = (lease: string, clock: ManualClock) => {
    const make = (identity: string) => new LeaderElector(leaseClient(api), { namespace: 'duet', name: lease, identity, ...timing }, { logger, clock });
    return [make('a'), make('b')] as const;
  };
  const leaders = (...es: LeaderElector[]) => es.map((e) => e.isLeader());

  test('first candidate wins; the standby waits while the leader renews', async () => {
    const clock = new ManualClock(1_000_000);
    const [a, b] = pair('renewing', clock);
    assert.equal(await a.tick(), true);
    assert.equal(await b.tick(), false);
    // For a minute the leader renews every retry period and b keeps trying: b never wins.
    for (let t = 0; t < 30; t++) {
      clock.advance(timing.retryPeriodMs);
      await a.tick();
      await b.tick();
      assert.deepEqual(leaders(a, b), [true, false]);
    }
    const lease = await api.readNamespacedLease({ namespace: 'duet', name: 'renewing' });
    assert.deepEqual([lease.spec?.holderIdentity, lease.spec?.leaseTransitions, lease.spec?.leaseDurationSeconds], ['a', 0, 15]);
  });

  test('a leader that stops renewing stops acting after renewDeadline; the standby takes over only after leaseDuration', async () => {
    const clock = new ManualClock(2_000_000);
    const [a, b] = pair('handover', clock);
    await a.tick();
    await b.tick(); // b observes a's record at t0
    // a is partitioned from here on (no more ticks). Step through time, checking the invariant.
    const states: string[] = [];
    for (let t = 2_000; t <= 18_000; t += 2_000) {
      clock.advance(2_000);
      await b.tick();
      assert.ok(!(a.isLeader() && b.isLeader()), `both lead at +${t} ms`);
      states.push(`${t / 1000}s:${leaders(a, b).map((l) => (l ? 'L' : '-')).join('')}`);
    }
    // a: leader until +10 s (renewDeadline). b: takes over once +15 s (leaseDuration) have passed since it saw a's renew.
    assert.deepEqual(states, ['2s:L-', '4s:L-', '6s:L-', '8s:L-', '10s:L-', '12s:--', '14s:--', '16s:-L', '18s:-L']);
    const lease = await api.readNamespacedLease({ namespace: 'duet', name: 'handover' });
    assert.deepEqual([lease.spec?.holderIdentity, lease.spec?.leaseTransitions], ['b', 1]);
    // a comes back: it sees b's fresh lease and stays a follower.
    assert.equal(await a.tick(), false);
    assert.equal(await b.tick(), true);
  });

  test('two candidates racing for a free lease: the 409 decides, exactly one wins', async () => {
    const clock = new ManualClock(3_000_000);
    const [a, b] = pair('race', clock);
    const results = await Promise.all([a.tick(), b.tick()]);
    assert.deepEqual(results.filter(Boolean).length, 1);
  });

  test('a released lease is taken over at once', async () => {
    const clock = new ManualClock(4_000_000);
    const [a, b] = pair('release', clock);
    a.run({ onStartedLeading: () => undefined, onStoppedLeading: () => undefined });
    for (let i = 0; i < 100 && !a.isLeader(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(a.isLeader(), true);
    await b.tick();
    assert.equal(b.isLeader(), false);
    await a.stop({ release: true });
    assert.equal(a.isLeader(), false);
    assert.equal(await b.tick(), true, 'no lease duration to wait out');
  });

  test('timings that cannot guarantee a single leader are refused', () => {
    assert.throws(
      () => new LeaderElector(leaseClient(api), { namespace: 'duet', name: 'x', identity: 'a', leaseDurationMs: 5000, renewDeadlineMs: 5000, retryPeriodMs: 1000 }, { logger }),
      /renewDeadlineMs \(5000\) must be < leaseDurationMs/,
    );
  });
});
