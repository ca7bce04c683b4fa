/**
 * Counter-based uniform random numbers: uniform(seed, counter) ∈ [0, 1) with 53 random bits.
 * Stateless, so a request's draw for its i-th output token is the same on any worker.
 * Mixing: the murmur3 32-bit finaliser applied to seed and counter words in two rounds.
 */

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function uniform(seed: number, counter: number): number {
  const a = fmix32((seed ^ 0x9e3779b9) + Math.imul(counter, 0x632be5ab));
  const b = fmix32(a ^ fmix32((counter ^ 0x7f4a7c15) + Math.imul(seed, 0x2545f491)));
  // 26 high bits of a and 27 of b make a 53-bit mantissa.
  return ((a >>> 6) * 134217728 + (b >>> 5)) / 9007199254740992;
}
