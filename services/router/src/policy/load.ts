/**
 * Where policies come from: a built-in name (services/router/policies/<name>.yaml) or a YAML/JSON
 * file path. `DEFAULT_POLICY` is what a router runs with no --policy. Errors name the file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { compilePolicy, PolicyError, type CompiledPolicy } from './compile.ts';

export const BUILTIN_POLICIES = ['round-robin', 'least-load', 'prefix-load', 'prefix-load-expert', 'lowest-cost'] as const;
export type BuiltinPolicy = (typeof BUILTIN_POLICIES)[number];
export const DEFAULT_POLICY: BuiltinPolicy = 'prefix-load-expert';

export function builtinPolicyPath(name: BuiltinPolicy): string {
  return fileURLToPath(new URL(`../../policies/${name}.yaml`, import.meta.url));
}

/** A built-in name or a file path → its path. */
export function resolvePolicyPath(nameOrPath: string): string {
  if ((BUILTIN_POLICIES as readonly string[]).includes(nameOrPath)) return builtinPolicyPath(nameOrPath as BuiltinPolicy);
  if (!existsSync(nameOrPath)) throw new PolicyError(nameOrPath, `no such policy file (built-in policies: ${BUILTIN_POLICIES.join(', ')})`);
  return nameOrPath;
}

/** Parses YAML or JSON text (JSON is YAML) into a compiled policy. */
export function parsePolicyText(text: string, source: string): CompiledPolicy {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new PolicyError(source, `not valid YAML/JSON: ${(err as Error).message}`);
  }
  try {
    return compilePolicy(doc);
  } catch (err) {
    if (err instanceof PolicyError) throw new PolicyError(`${source}: ${err.path}`, err.message.slice(err.path.length + 2));
    throw err;
  }
}

export function loadPolicy(nameOrPath: string): CompiledPolicy {
  const path = resolvePolicyPath(nameOrPath);
  return parsePolicyText(readFileSync(path, 'utf8'), path);
}
