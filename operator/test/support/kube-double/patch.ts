/**
 * The two patch formats the double applies: JSON merge patch (RFC 7386, `application/merge-patch+json`,
 * also used for `strategic-merge-patch+json`, whose list-merge keys the double does not know) and
 * JSON patch (RFC 6902, `application/json-patch+json`: add, remove, replace, move, copy, test).
 * Both are pure: they return a new document and never touch the input.
 */

export class PatchError extends Error {
  override name = 'PatchError';
}

type Json = unknown;

const isObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7386: objects merge key by key, `null` deletes, anything else (arrays included) replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, Json> = isObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

interface Operation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: Json;
}

/** '/a/b~1c/0' → ['a', 'b/c', '0']. */
function tokens(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`JSON pointer "${pointer}" must start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: Json, path: string): { parent: Record<string, Json> | Json[]; key: string } {
  const parts = tokens(path);
  if (parts.length === 0) throw new PatchError('the root cannot be the target of this operation');
  let cur: Json = doc;
  for (const part of parts.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(part)];
    else if (isObject(cur)) cur = cur[part];
    else cur = undefined;
    if (cur === undefined) throw new PatchError(`path "${path}": "${part}" does not exist`);
  }
  if (!Array.isArray(cur) && !isObject(cur)) throw new PatchError(`path "${path}": parent is not a container`);
  return { parent: cur, key: parts[parts.length - 1] };
}

function arrayIndex(arr: Json[], key: string, path: string, forInsert: boolean): number {
  if (forInsert && key === '-') return arr.length;
  const i = Number(key);
  const max = forInsert ? arr.length : arr.length - 1;
  if (!/^(0|[1-9][0-9]*)$/.test(key) || i > max) throw new PatchError(`path "${path}": index ${key} out of range`);
  return i;
}

function get(doc: Json, path: string): Json {
  if (path === '') return doc;
  const { parent, key } = parentOf(doc, path);
  const v = Array.isArray(parent) ? parent[arrayIndex(parent, key, path, false)] : parent[key];
  if (v === undefined) throw new PatchError(`path "${path}" does not exist`);
  return v;
}

function add(doc: Json, path: string, value: Json): Json {
  if (path === '') return structuredClone(value);
  const { parent, key } = parentOf(doc, path);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, path, true), 0, structuredClone(value));
  else parent[key] = structuredClone(value);
  return doc;
}

function remove(doc: Json, path: string): Json {
  const { parent, key } = parentOf(doc, path);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, path, false), 1);
  else {
    if (!(key in parent)) throw new PatchError(`path "${path}" does not exist`);
    delete parent[key];
  }
  return doc;
}

const deepEqual = (a: Json, b: Json): boolean => JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
function sortKeys(v: Json): Json {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isObject(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  return v;
}

/** RFC 6902; a failed `test` or a missing path throws PatchError (the double answers 422). */
export function jsonPatch(target: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch must be an array of operations');
  let doc = structuredClone(target);
  for (const raw of ops as Operation[]) {
    if (!isObject(raw) || typeof raw.path !== 'string') throw new PatchError(`malformed operation ${JSON.stringify(raw)}`);
    switch (raw.op) {
      case 'add':
        doc = add(doc, raw.path, raw.value);
        break;
      case 'remove':
        doc = remove(doc, raw.path);
        break;
      case 'replace':
        if (raw.path === '') {
          doc = structuredClone(raw.value);
          break;
        }
        get(doc, raw.path);
        doc = add(remove(doc, raw.path), raw.path, raw.value);
        break;
      case 'move': {
        const v = get(doc, raw.from ?? '');
        doc = add(remove(doc, raw.from ?? ''), raw.path, v);
        break;
      }
      case 'copy':
        doc = add(doc, raw.path, get(doc, raw.from ?? ''));
        break;
      case 'test':
        if (!deepEqual(get(doc, raw.path), raw.value)) throw new PatchError(`test operation on "${raw.path}" failed`);
        break;
      default:
        throw new PatchError(`unknown operation "${String((raw as { op: unknown }).op)}"`);
    }
  }
  return doc;
}
