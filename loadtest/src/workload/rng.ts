/**
 * Seeded randomness for workloads and arrivals: a 32-bit splitmix generator, so the same seed gives
 * the same requests on every machine (Math.random is never used). Workloads derive one stream per
 * purpose (`new Rng(seed, stream)`) so adding requests of one kind does not shift another's tokens.
 */

import { splitmix32 } from '@duet/engine';

/** splitmix32 mixer (the engine's): maps any 32-bit integer to a well-spread 32-bit unsigned integer. */
export const mix32 = splitmix32;

export class Rng {
  private state: number;

  constructor(seed: number, stream = 0) {
    this.state = mix32((seed >>> 0) ^ Math.imul(stream >>> 0, 0x27d4eb2d));
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    this.state = (this.state + 0x9e3779b9) | 0;
    return mix32(this.state);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Exponential with the given mean (inverse CDF; 1 - u is never 0). */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}
