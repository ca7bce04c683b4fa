/** Finding server binaries on PATH, with an error that names the package to install. */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { MissingBinaryError } from './errors.ts';

/** Debian/Ubuntu packages of the servers the kit runs. */
export const APT_PACKAGES = { 'nats-server': 'nats-server', 'redis-server': 'redis-server' } as const;

export type ServerBinary = keyof typeof APT_PACKAGES;

function isExecutableFile(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * Absolute path of `name`: `override` when given (a path, or a name looked up on PATH), otherwise
 * `name` on `searchPath` (default: the PATH of this process, read at call time).
 */
export function findBinary(name: ServerBinary, override?: string, searchPath: string = process.env.PATH ?? ''): string {
  const wanted = override ?? name;
  if (isAbsolute(wanted) || wanted.includes('/')) {
    if (isExecutableFile(wanted)) return wanted;
    throw new MissingBinaryError(wanted, APT_PACKAGES[name], wanted);
  }
  const dirs = searchPath.split(delimiter).filter((d) => d.length > 0);
  for (const dir of dirs) {
    const p = join(dir, wanted);
    if (isExecutableFile(p)) return p;
  }
  throw new MissingBinaryError(wanted, APT_PACKAGES[name], dirs.length > 0 ? `PATH=${dirs.join(delimiter)}` : '');
}
