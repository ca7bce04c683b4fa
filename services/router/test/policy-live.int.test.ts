/**
 * The policy changes under a running router, without a restart: by rewriting its policy file
 * (polled) and by a PolicyUpdate on NATS; placements follow the new policy at once, an invalid
 * update is refused and the previous policy keeps routing, an update for another policy name or an
 * older generation is ignored.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkerRole, WorkerState, createLogger, requestTyped, wire } from '@duet/core';
import { uniqueSubjects, withServers } from '@duet/testkit';
import { connect, type NatsConnection } from 'nats';
import { Router, resolveRouterConfig } from '../src/index.ts';

const policy = (name: string, picker: string, generation?: number) =>
  JSON.stringify({ apiVersion: 'duet.dev/v1alpha1', kind: 'RoutingPolicy', metadata: { name, ...(generation ? { generation } : {}) }, spec: { decode: { picker: { type: picker } }, disaggregation: { mode: 'never' } } });

const until = async (cond: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(cond(), what);
};

let router: Router | undefined;
let nc: NatsConnection | undefined;
let dir = '';
after(async () => {
  await router?.stop();
  await nc?.drain();
  await rm(dir, { recursive: true, force: true });
});
const servers = withServers();

describe('live routing policy', () => {
  const subjects = uniqueSubjects();
  let file = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'duet-policy-'));
    file = join(dir, 'policy.json');
    await writeFile(file, policy('live', 'round-robin'));
    const config = resolveRouterConfig({ natsUrl: servers.nats.url, subjectPrefix: subjects.prefix, policy: file, policyWatchMs: 50 });
    router = new Router(config, { defaultMetrics: false, logger: createLogger('router', { level: 'silent' }), random: () => 0 });
    await router.start();
    nc = await connect({ servers: servers.nats.url });
    for (const id of ['d1', 'd2']) {
      nc.publish(subjects.workerHeartbeat(id), wire.workerHeartbeat.encode({ worker: { workerId: id, role: WorkerRole.DECODE, model: 'm' }, seq: 1n, state: WorkerState.READY, intervalMs: 60_000 }));
    }
    await nc.flush();
    await until(() => router!.registry.live().length === 2, 'both workers known');
  });

  const decodes = async (n: number): Promise<string[]> => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = await requestTyped(nc!, subjects.routerPlace(), wire.placementRequest, { requestId: `r${i}`, model: 'm', promptTokens: 4 }, wire.placementResponse, { timeoutMs: 2000 });
      out.push(r.result.case === 'placed' ? r.result.value.decodeWorkerId : r.result.case ?? '');
    }
    return out;
  };

  test('from the file at start: round-robin alternates', async () => {
    assert.deepEqual(await decodes(4), ['d1', 'd2', 'd1', 'd2']);
  });

  test('the file is rewritten: the new policy routes without a restart', async () => {
    await writeFile(file, policy('live', 'max-score')); // no scorers: every tie → random() = 0 → first
    await until(() => router!.policy.current.decode.picker.type === 'max-score', 'file change applied');
    assert.deepEqual(await decodes(3), ['d1', 'd1', 'd1']);
  });

  test('a PolicyUpdate on NATS for this policy applies; another name, an older generation or an invalid one does not', async () => {
    const send = (name: string, generation: bigint, documentJson: string) => nc!.publish(subjects.routingPolicy(), wire.policyUpdate.encode({ kind: 'RoutingPolicy', name, generation, documentJson }));
    send('live', 5n, policy('live', 'round-robin'));
    await until(() => router!.policy.current.decode.picker.type === 'round-robin', 'NATS update applied');
    send('other', 9n, policy('other', 'max-score'));
    send('live', 4n, policy('live', 'max-score'));
    send('live', 6n, '{"apiVersion":"duet.dev/v1alpha1","kind":"RoutingPolicy","metadata":{"name":"live"},"spec":{"decode":{"scorers":[{"type":"nope"}]}}}');
    await nc!.flush();
    await until(() => router!.policy.counts.refused >= 1, 'invalid update refused');
    assert.equal(router!.policy.current.decode.picker.type, 'round-robin', 'previous policy still in force');
    const picks = await decodes(2);
    assert.notEqual(picks[0], picks[1], 'still round-robin');
  });
});
