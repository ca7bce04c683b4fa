/**
 * Child processes of the local launcher: each service runs as its own Node process with its output
 * in a log file; a child that dies unexpectedly is reported with the tail of its log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ChildSpec {
  name: string;
  /** Entry script (a .ts file run through tsx). */
  script: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

export interface Child {
  spec: ChildSpec;
  proc: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
  /** Set before a deliberate stop of one child (an autoscaler's drained worker): not a death. */
  expectedExit?: boolean;
}

export function startChild(spec: ChildSpec, logDir: string): Child {
  const logFile = join(logDir, `${spec.name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const proc = spawn(process.execPath, ['--import', 'tsx', spec.script, ...spec.args], {
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout.pipe(log);
  proc.stderr.pipe(log);
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { spec, proc, logFile, exited };
}

export async function logTail(child: Child, lines = 15): Promise<string> {
  try {
    return (await readFile(child.logFile, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** SIGTERM to every child, SIGKILL to those still alive after `graceMs`. */
export async function stopChildren(children: readonly Child[], graceMs = 10_000): Promise<void> {
  for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGTERM');
  const timer = setTimeout(() => children.forEach((c) => c.proc.exitCode === null && c.proc.kill('SIGKILL')), graceMs);
  await Promise.all(children.map((c) => c.exited));
  clearTimeout(timer);
}
