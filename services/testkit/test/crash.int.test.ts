/**
 * A test process that dies without calling stop() must not leave servers behind: an uncaught
 * exception goes through the kit's 'exit' handler; a SIGKILL runs no handler, so the guard's stdin
 * watchdog stops the servers when the dead process's pipe closes.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isPortFree } from '../src/index.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const owner = fileURLToPath(new URL('./fixtures/server-owner.ts', import.meta.url));

interface Owner {
  child: ChildProcess;
  ports: number[];
  dirs: string[];
}

async function startOwner(mode: 'throw' | 'hang'): Promise<Owner> {
  const child = spawn(process.execPath, ['--import', 'tsx', owner, mode], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    const { ports, dirs } = JSON.parse(line) as { ports: number[]; dirs: string[] };
    return { child, ports, dirs };
  }
  throw new Error(`server owner printed no ports; stderr:\n${stderr}`);
}

/** Polls (with backoff) until every port is free and every temp dir gone; fails after timeoutMs. */
async function expectCleanedUp({ ports, dirs }: Owner, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    const free = await Promise.all(ports.map(isPortFree));
    const left = dirs.filter((d) => existsSync(d));
    if (free.every(Boolean) && left.length === 0) return;
    if (Date.now() > deadline) {
      assert.fail(`${timeoutMs} ms after the owner died: ports held ${ports.filter((_, i) => !free[i]).join(', ')}; dirs left ${left.join(', ')}`);
    }
    await new Promise((r) => setTimeout(r, wait));
  }
}

void describe('servers never outlive their test process', () => {
  void it('an uncaught exception kills them (exit handler)', async () => {
    const owner = await startOwner('throw');
    for (const p of owner.ports) assert.equal(await isPortFree(p), false);
    owner.child.stdin?.write('crash now\n');
    const [code] = (await once(owner.child, 'exit')) as [number | null];
    assert.notEqual(code, 0);
    // The exit handler removed the temp dirs before the process was gone (synchronously)…
    for (const d of owner.dirs) assert.equal(existsSync(d), false, `${d} left behind`);
    // …and SIGKILLed the groups; the kernel frees the ports as those processes die.
    await expectCleanedUp(owner, 5000);
  });

  void it('a SIGKILLed test process gets them stopped too (stdin watchdog)', async () => {
    const owner = await startOwner('hang');
    for (const p of owner.ports) assert.equal(await isPortFree(p), false);
    owner.child.kill('SIGKILL');
    await once(owner.child, 'exit');
    await expectCleanedUp(owner, 5000);
  });
});
