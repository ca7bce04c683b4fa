/**
 * Spawning server processes that cannot outlive the test process.
 *
 * Three layers, because a test process can die in three ways:
 *   1. stop()                  — SIGTERM to the guard, which forwards it and waits for the server,
 *                                so the guard's exit means the port is free; SIGKILL to the whole
 *                                process group if that takes longer than stopTimeoutMs.
 *   2. process 'exit' handler  — a crash (uncaught exception, process.exit) SIGKILLs every group we
 *                                started and removes their temp dirs, synchronously.
 *   3. stdin watchdog          — SIGKILL of the test process runs no handler at all; the guard
 *                                shell reads its stdin (a pipe from us) and stops the server at EOF,
 *                                which the kernel delivers when our end closes on death; the guard
 *                                then removes the temp dir itself.
 *
 *   test process ──stdin pipe──▶ sh guard (group leader, detached) ──▶ nats-server / redis-server
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { ServerStartError } from './errors.ts';

// $1 is the server's temp dir (ours, from mkdtemp): removed once the server is gone, so even the
// watchdog path leaves nothing behind. The rest of the arguments are the server command.
const GUARD = `
dir=$1; shift
exec 3<&0 0</dev/null
"$@" 3<&- &
srv=$!
trap 'kill -TERM "$srv" 2>/dev/null' TERM INT
( read -r _ <&3 || :; kill -TERM "$srv" 2>/dev/null ) &
dog=$!
exec 3<&-
code=0
while :; do
  wait "$srv"; code=$?
  kill -0 "$srv" 2>/dev/null || break
done
kill "$dog" 2>/dev/null
[ -n "$dir" ] && rm -rf -- "$dir"
exit "$code"
`;

const TAIL_BYTES = 4096;
const live = new Set<ServerProcess>();
let exitHandlerInstalled = false;

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.on('exit', () => {
    for (const p of live) p.killNow();
  });
}

export interface SpawnOptions {
  /** Absolute path of the server binary. */
  binary: string;
  args: string[];
  /** A temp dir the server owns: its cwd, removed when it stops (or when we exit). */
  dir: string;
}

export class ServerProcess {
  readonly binary: string;
  readonly dir: string;
  /** The guard's pid, which is also the process group id. */
  readonly pid: number;
  /** Resolves with the guard's exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private tail = '';
  private done = false;

  constructor(options: SpawnOptions) {
    this.binary = options.binary;
    this.dir = options.dir;
    this.child = spawn('/bin/sh', ['-c', GUARD, 'duet-testkit-guard', options.dir, options.binary, ...options.args], {
      cwd: options.dir,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    if (this.child.pid === undefined) throw new ServerStartError(options.binary, 'spawn failed', '');
    this.pid = this.child.pid;
    installExitHandler();
    live.add(this);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => {
        this.done = true;
        live.delete(this);
        rmSync(this.dir, { recursive: true, force: true });
        resolve(code);
      });
    });
    this.child.stdout?.on('data', (b: Buffer) => this.append(b));
    this.child.stderr?.on('data', (b: Buffer) => this.append(b));
    // Nothing here keeps the test process alive: a test that forgets stop() still exits, and the
    // exit handler then kills the server.
    this.child.unref();
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) (s as { unref?: () => void } | null)?.unref?.();
  }

  private append(b: Buffer): void {
    this.tail = (this.tail + b.toString('utf8')).slice(-TAIL_BYTES);
  }

  /** The last few KiB the server printed. */
  logTail(): string {
    return this.tail;
  }

  hasExited(): boolean {
    return this.done;
  }

  /** Graceful stop; resolves once the server process is gone. Idempotent. */
  async stop(stopTimeoutMs = 5000): Promise<void> {
    if (this.done) return;
    this.signal(this.pid, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), stopTimeoutMs);
    });
    const result = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      this.signal(-this.pid, 'SIGKILL');
      await this.exited;
    }
  }

  /** Synchronous, for the exit handler: SIGKILL the whole group, remove the temp dir. */
  killNow(): void {
    this.signal(-this.pid, 'SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  private signal(target: number, sig: NodeJS.Signals): void {
    try {
      process.kill(target, sig);
    } catch (e) {
      // ESRCH: already gone, which is what we wanted.
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  }
}
