/**
 * Three-way merge patches (what `kubectl apply` does, without server-side apply): the patch sets
 * every field of the desired object and deletes (null) the fields the operator set last time but
 * no longer wants. Fields set by others — server defaults (a Service's clusterIP), the Deployment
 * controller's status — are untouched because neither side mentions them. Arrays replace whole
 * (JSON merge patch has no list merge), which is right for lists the operator owns.
 *
 *   last applied  {a: 1, b: {x: 1, y: 2}}
 *   desired       {a: 2, b: {x: 1}}            → patch {a: 2, b: {x: 1, y: null}}
 */

type Json = unknown;
const isObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function threeWayMergePatch(lastApplied: Json, desired: Json): Json {
  if (!isObject(desired)) return desired;
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(desired)) out[k] = isObject(v) ? threeWayMergePatch(isObject(lastApplied) ? lastApplied[k] : undefined, v) : v;
  if (isObject(lastApplied)) for (const k of Object.keys(lastApplied)) if (!(k in desired)) out[k] = null;
  return out;
}

const isEmpty = (v: Json): boolean => (Array.isArray(v) ? v.length === 0 : isObject(v) && Object.keys(v).every((k) => v[k] === undefined));

/**
 * Does the live object still hold every field of the desired one? Extra live fields (server
 * defaults, status) are fine; an empty desired map or list matches an absent one (the API server
 * omits empty collections); scalars compare as strings (`1` and `"1"`). Used to notice someone
 * else's edit of a field the operator owns (a manual `kubectl scale`, an edited image).
 */
export function isSubset(desired: Json, live: Json): boolean {
  if (desired === undefined || desired === null) return true;
  if (isEmpty(desired) && (live === undefined || live === null || isEmpty(live))) return true;
  if (Array.isArray(desired)) return Array.isArray(live) && live.length === desired.length && desired.every((d, i) => isSubset(d, live[i]));
  if (isObject(desired)) return isObject(live) && Object.keys(desired).every((k) => isSubset(desired[k], live[k]));
  if (desired instanceof Date || live instanceof Date) return new Date(desired as string).getTime() === new Date(live as string).getTime();
  const scalar = (v: Json): v is string | number | boolean => ['string', 'number', 'boolean'].includes(typeof v);
  return scalar(desired) && scalar(live) && String(desired) === String(live);
}

/** JSON with sorted keys: equal objects, equal strings (the last-applied annotation compares by it). */
export function canonicalJson(v: Json): string {
  const sort = (x: Json): Json => {
    if (Array.isArray(x)) return x.map(sort);
    if (isObject(x)) return Object.fromEntries(Object.keys(x).sort().map((k) => [k, sort(x[k])]));
    return x;
  };
  return JSON.stringify(sort(v)) ?? 'null';
}
