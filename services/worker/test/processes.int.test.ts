/**
 * The real thing: a router, a prefill worker and a decode worker as separate processes
 * (`node --import tsx …/main.ts`), configured by flags. The test waits for both workers' READY
 * heartbeats, asks the router where to run (as the gateway does), runs the request there and
 * compares with one engine; SIGTERM then drains and exits each worker with status 0.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WorkerState, requestTyped, wire } from '@duet/core';
import { uniqueId, uniqueSubjects, withServers } from '@duet/testkit';
import { connect, type NatsConnection } from 'nats';
import { BLOCK_SIZE, GREEDY, NUM_KV_BLOCKS, expectedTokens, modelDir, promptOf, runRequest } from './helpers.ts';

const servers = withServers();
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function launch(entry: string, args: string[]): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], { cwd: ROOT, env: { ...process.env, DUET_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return Object.assign(child, { output: () => out.slice(-4000) });
}

const exited = (c: ChildProcess): Promise<number | null> => (c.exitCode !== null ? Promise.resolve(c.exitCode) : new Promise((r) => c.once('exit', (code) => r(code))));

describe('router + prefill + decode as separate processes', () => {
  const subjects = uniqueSubjects();
  let model: Awaited<ReturnType<typeof modelDir>>;
  let nc: NatsConnection;
  const ids = { prefill: uniqueId('prefill'), decode: uniqueId('decode') };
  const procs: Array<ReturnType<typeof launch>> = [];

  before(async () => {
    model = await modelDir('llama');
    nc = await connect({ servers: servers.nats.url });
    const ready = new Set<string>();
    const allReady = new Promise<void>((resolve) => {
      nc.subscribe(subjects.allWorkerHeartbeats(), {
        callback: (_e, m) => {
          const hb = wire.workerHeartbeat.decode(m.data);
          if (hb.state === WorkerState.READY) ready.add(hb.worker!.workerId);
          if (ready.has(ids.prefill) && ready.has(ids.decode)) resolve();
        },
      });
    });
    await nc.flush();
    const common = ['--nats-url', servers.nats.url, '--subject-prefix', subjects.prefix];
    procs.push(launch('services/router/src/main.ts', common));
    for (const role of ['prefill', 'decode'] as const) {
      const args = [...common, '--role', role, '--worker-id', ids[role], '--model-dir', model.dir, '--num-kv-blocks', String(NUM_KV_BLOCKS), '--block-size', String(BLOCK_SIZE), '--heartbeat-interval-ms', '200'];
      procs.push(launch('services/worker/src/main.ts', role === 'decode' ? [...args, '--transport', 'tcp'] : args));
    }
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`workers not ready:\n${procs.map((p) => p.output()).join('\n')}`)), 60_000).unref());
    await Promise.race([allReady, timeout]);
  });
  after(async () => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    await Promise.all(procs.map(exited));
    await nc.drain();
    await model.cleanup();
  });

  test('the router places prefill → decode; the answer equals one engine; SIGTERM drains and exits 0', async () => {
    const place = () => requestTyped(nc, subjects.routerPlace(), wire.placementRequest, { requestId: 'p', promptTokens: 20 }, wire.placementResponse, { timeoutMs: 2000 });
    let placed = await place();
    for (let i = 0; i < 50 && !(placed.result.case === 'placed' && placed.result.value.prefillWorkerId); i++) {
      await new Promise((r) => setTimeout(r, 100)); // the router may have started after the first beats
      placed = await place();
    }
    assert.equal(placed.result.case, 'placed');
    assert.deepEqual([placed.result.value.prefillWorkerId, placed.result.value.decodeWorkerId], [ids.prefill, ids.decode]);
    for (const transport of [1, 2]) {
      const prompt = promptOf(20, 60 + transport); // distinct prompts: nothing cached on the decode side
      const r = await runRequest(nc, subjects, { promptIds: prompt, sampling: GREEDY, decodeWorkerId: ids.decode, prefillWorkerId: ids.prefill, transport });
      assert.ok(r.prefill && !r.prefill.error && r.prefill.transferredTokens === 20, `transfer over kind ${transport}: ${procs.map((p) => p.output()).join('\n')}`);
      assert.deepEqual(r.tokens, await expectedTokens(model.dir, prompt, GREEDY));
    }
    const workers = procs.slice(1);
    workers.forEach((p) => p.kill('SIGTERM'));
    assert.deepEqual(await Promise.all(workers.map(exited)), [0, 0], procs.map((p) => p.output()).join('\n'));
  });
});
