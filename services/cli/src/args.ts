/** Flag parsing shared by the subcommands (node:util parseArgs plus typed number/list readers). */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class CliUsageError extends Error {
  override name = 'CliUsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseFlags(argv: string[], options: Options): Record<string, string | boolean | undefined> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    throw new CliUsageError(err instanceof Error ? err.message : String(err));
  }
}

const show = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

export function requireString(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new CliUsageError(`--${name} is required`);
  return v;
}

export function optionalNumber(values: Record<string, unknown>, name: string, opts: { integer?: boolean } = {}): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || (opts.integer && !Number.isInteger(n))) {
    throw new CliUsageError(`--${name} must be ${opts.integer ? 'an integer' : 'a number'}, got "${show(v)}"`);
  }
  return n;
}

export function oneOf<T extends string>(values: Record<string, unknown>, name: string, allowed: readonly T[], fallback?: T): T {
  const v = values[name] ?? fallback;
  if (typeof v !== 'string' || !allowed.includes(v as T)) {
    throw new CliUsageError(`--${name} must be one of ${allowed.join(', ')}${v === undefined ? '' : `, got "${show(v)}"`}`);
  }
  return v as T;
}

export function intList(values: Record<string, unknown>, name: string): number[] | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const parts = show(v).split(',').map((s) => s.trim());
  const ids = parts.map(Number);
  if (parts.some((p) => p === '') || ids.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new CliUsageError(`--${name} must be a comma-separated list of non-negative integers`);
  }
  return ids;
}
