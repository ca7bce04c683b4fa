/**
 * Label and field selectors as the API server parses them from `?labelSelector=` and
 * `?fieldSelector=`: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a` joined by commas.
 * Field selectors support `metadata.name` and `metadata.namespace` (what controllers use).
 */

export type Labels = Record<string, string> | undefined;

type Requirement = (labels: Record<string, string>) => boolean;

export class SelectorError extends Error {
  override name = 'SelectorError';
}

/** Splits on commas that are not inside parentheses. */
function splitTerms(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim() !== '') out.push(cur.trim());
  return out.filter((t) => t !== '');
}

function parseTerm(term: string): Requirement {
  const set = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (set) {
    const [, key, op, list] = set;
    const values = new Set(list.split(',').map((v) => v.trim()));
    return op === 'in' ? (l) => key in l && values.has(l[key]) : (l) => !(key in l) || !values.has(l[key]);
  }
  const neq = /^([^\s!=]+)\s*!=\s*(\S*)$/.exec(term);
  if (neq) return (l) => l[neq[1]] !== neq[2];
  const eq = /^([^\s!=]+)\s*==?\s*(\S*)$/.exec(term);
  if (eq) return (l) => l[eq[1]] === eq[2];
  const notExists = /^!([^\s!=]+)$/.exec(term);
  if (notExists) return (l) => !(notExists[1] in l);
  if (/^[^\s!=()]+$/.test(term)) return (l) => term in l;
  throw new SelectorError(`unable to parse requirement "${term}"`);
}

/** Returns a predicate over labels; an empty or absent selector matches everything. */
export function parseLabelSelector(selector: string | null | undefined): (labels: Labels) => boolean {
  const reqs = splitTerms(selector ?? '').map(parseTerm);
  return (labels) => reqs.every((r) => r(labels ?? {}));
}

/** Field selector over `metadata.name` / `metadata.namespace` with `=`, `==` and `!=`. */
export function parseFieldSelector(selector: string | null | undefined): (meta: { name?: string; namespace?: string }) => boolean {
  const reqs = splitTerms(selector ?? '').map((term) => {
    const m = /^(metadata\.name|metadata\.namespace)\s*(!=|==|=)\s*(\S*)$/.exec(term);
    if (!m) throw new SelectorError(`field selector "${term}" is not supported (only metadata.name and metadata.namespace)`);
    const field = m[1] === 'metadata.name' ? 'name' : 'namespace';
    const negate = m[2] === '!=';
    return (meta: { name?: string; namespace?: string }) => (meta[field] === m[3]) !== negate;
  });
  return (meta) => reqs.every((r) => r(meta));
}

/** `{a: 'x', b: 'y'}` → `a=x,b=y` (how a Deployment's matchLabels become a Scale's selector). */
export function selectorString(matchLabels: Record<string, string> | undefined): string {
  return Object.entries(matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
