/**
 * One validated options object per service, from flags and environment: `--kv-cache-mib 64` and
 * `DUET_KV_CACHE_MIB=64` both set `kvCacheMib`. Flags win over env, env over defaults (in the zod
 * schema). A bad value fails with its flag and env names; the effective config is logged once.
 */
import type { z } from 'zod';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const envName = (key: string): string => `DUET_${kebab(key).replace(/-/g, '_').toUpperCase()}`;

/** `--key value` / `--key=value` / bare `--flag` (true) into a map keyed by camelCase. */
function parseArgv(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new ConfigError(`unexpected argument "${a}"`);
    const [rawKey, inline] = a.slice(2).split(/=(.*)/s, 2);
    const key = rawKey.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const next = argv[i + 1];
    const value = inline ?? (next !== undefined && !next.startsWith('--') ? (i++, next) : 'true');
    out.set(key, value);
  }
  return out;
}

/** Coerces a string to what the schema's field expects (number, boolean, list, string). */
function coerce(field: z.ZodType, raw: string): unknown {
  const probe = (v: unknown): boolean => field.safeParse(v).success;
  if (raw === 'true' || raw === 'false') if (probe(raw === 'true')) return raw === 'true';
  if (raw.trim() !== '' && !Number.isNaN(Number(raw)) && probe(Number(raw))) return Number(raw);
  if (probe(raw.split(','))) return raw.split(',').filter((s) => s !== '');
  return raw;
}

export function parseServiceConfig<S extends z.ZodObject>(
  schema: S,
  opts: { argv?: readonly string[]; env?: NodeJS.ProcessEnv } = {},
): z.output<S> {
  const flags = parseArgv(opts.argv ?? process.argv.slice(2));
  const env = opts.env ?? process.env;
  const shape = schema.shape as Record<string, z.ZodType>;
  const input: Record<string, unknown> = {};
  for (const key of Object.keys(shape)) {
    const raw = flags.get(key) ?? env[envName(key)];
    if (raw !== undefined) input[key] = coerce(shape[key], raw);
    flags.delete(key);
  }
  if (flags.size > 0) throw new ConfigError(`unknown option --${kebab([...flags.keys()][0])}`);
  const r = schema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    const key = String(issue.path[0] ?? '');
    throw new ConfigError(`--${kebab(key)} (${envName(key)}): ${issue.message}`);
  }
  return r.data;
}
