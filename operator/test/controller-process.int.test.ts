/**
 * The operator as a process (what the image's `operator` role runs): a kubeconfig file pointing at
 * the API server double, /healthz and /metrics on its port, a DuetService reconciled into its
 * children, a clean exit on SIGTERM. And `duet operator` refusing a bad flag with the usage.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { KubeDouble } from './support/kube-double/index.ts';
import { NS, baseSpec, until } from './controller-fixtures.ts';

const root = new URL('../..', import.meta.url).pathname;

describe('operator process', () => {
  let double: KubeDouble;
  let dir: string;
  let proc: ChildProcess | undefined;
  let out = '';
  before(async () => {
    double = await KubeDouble.start();
    dir = mkdtempSync(join(tmpdir(), 'duet-operator-'));
  });
  after(async () => {
    if (proc && proc.exitCode === null) proc.kill('SIGKILL');
    await double.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('runs from a kubeconfig, serves /healthz and /metrics, reconciles, exits 0 on SIGTERM', async () => {
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{name: double, cluster: {server: "${double.url}", insecure-skip-tls-verify: true}}]`,
        'users: [{name: op, user: {token: op-process}}]',
        'contexts: [{name: double, context: {cluster: double, user: op}}]',
        'current-context: double',
      ].join('\n'),
    );
    proc = spawn(process.execPath, ['--import', 'tsx', 'operator/src/main.ts', '--kubeconfig', kubeconfig, '--watch-namespace', NS, '--leader-elect', 'false', '--metrics-port', '0', '--metrics-host', '127.0.0.1', '--autoscale', 'false'], {
      cwd: root,
      env: { ...process.env, DUET_LOG_LEVEL: 'info', POD_NAME: 'op-process' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout?.on('data', (b: Buffer) => (out += b.toString()));
    proc.stderr?.on('data', (b: Buffer) => (out += b.toString()));
    const port = await until('effective config logged', () => {
      const line = out.split('\n').find((l) => l.includes('"effective config"'));
      return line ? (JSON.parse(line) as { httpPort: number }).httpPort : undefined;
    }, 30_000);
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);

    const custom = double.kubeConfig(NS).makeApiClient(CustomObjectsApi);
    await custom.createNamespacedCustomObject({ group: 'duet.dev', version: 'v1alpha1', namespace: NS, plural: 'duetservices', body: { apiVersion: 'duet.dev/v1alpha1', kind: 'DuetService', metadata: { name: 'proc' }, spec: baseSpec() } });
    await until('children created by the process', () => double.writes('deployments').filter((r) => r.user === 'op-process').length >= 4, 30_000);
    const reconciled = /duet_operator_reconciles_total\{[^}]*kind="DuetService"[^}]*result="ok"[^}]*\} [1-9]/;
    await until('a reconcile counted in /metrics', async () => reconciled.test(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()));

    const exited = new Promise<number | null>((resolve) => proc!.once('exit', (code) => resolve(code)));
    proc.kill('SIGTERM');
    assert.equal(await exited, 0, out.slice(-2000));
  });

  test('`duet operator` with an unknown flag prints the usage and exits 2', () => {
    const r = spawnSync(process.execPath, ['services/cli/bin/duet.js', 'operator', '--no-such-flag', 'x'], { cwd: root, encoding: 'utf8', env: { ...process.env, DUET_LOG_LEVEL: 'silent' } });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /unknown option --no-such-flag/);
    assert.match(r.stderr, /duet operator \[--kubeconfig FILE\]/);
  });
});
