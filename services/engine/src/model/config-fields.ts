/**
 * Field readers for config.json: each validates one key with a zod schema and, on failure, throws
 * a ModelConfigError whose message and `field` name that key, so an operator knows what to edit.
 */
import { z } from 'zod';
import { ModelConfigError } from './errors.ts';

export type RawConfig = Record<string, unknown>;

export const positiveInt = z.number().int().positive();
export const nonNegativeInt = z.number().int().nonnegative();
export const positiveNumber = z.number().positive();
export const tokenIds = z.union([nonNegativeInt, z.array(nonNegativeInt)]);

function describe(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Validate `raw[field]`; `file` is the JSON file name used in messages. */
function check<T>(raw: RawConfig, field: string, schema: z.ZodType<T>, file: string): T {
  const r = schema.safeParse(raw[field]);
  if (r.success) return r.data;
  const issue = r.error.issues[0]?.message ?? 'invalid value';
  throw new ModelConfigError(field, `${file}: field "${field}" is invalid (${issue}); got ${describe(raw[field])}`);
}

/** A required field: absent or null is an error naming the field. */
export function required<T>(raw: RawConfig, field: string, schema: z.ZodType<T>, file = 'config.json'): T {
  if (raw[field] === undefined || raw[field] === null) {
    throw new ModelConfigError(field, `${file}: required field "${field}" is missing`);
  }
  return check(raw, field, schema, file);
}

/** An optional field: absent or null gives `fallback`. */
export function optional<T, F = T>(raw: RawConfig, field: string, schema: z.ZodType<T>, fallback: F, file = 'config.json'): T | F {
  if (raw[field] === undefined || raw[field] === null) return fallback;
  return check(raw, field, schema, file);
}

/** Fail, naming `field`, unless `ok`. */
export function requireThat(ok: boolean, field: string, message: string): void {
  if (!ok) throw new ModelConfigError(field, `config.json: field "${field}" ${message}`);
}

/** `eos_token_id`-style values (a number, a list, or absent) as a list. */
export function idList(raw: RawConfig, field: string, file = 'config.json'): number[] {
  const v = optional(raw, field, tokenIds, [], file);
  return Array.isArray(v) ? v : [v];
}
