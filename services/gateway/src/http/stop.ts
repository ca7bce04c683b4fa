/**
 * Stop strings on streamed text. Text that could be the start of a stop string is held back until
 * it is known not to be one, so a client never sees part of a stop string:
 *
 *   stops ["END"]   push("abcE") → emit "abc", hold "E"
 *                   push("N")    → emit "",    hold "EN"
 *                   push("D!")   → emit "",    stopped (text is cut before "END")
 *
 * Invariant: the held text is shorter than the longest stop string, and no stop string occurs in
 * emitted text, so a match always starts inside the held text.
 */
export class StopMatcher {
  private held = '';
  private done = false;

  constructor(private readonly stops: readonly string[]) {}

  get stopped(): boolean {
    return this.done;
  }

  /** Adds decoded text; returns what can be shown now. After a stop, nothing more is emitted. */
  push(text: string): string {
    if (this.done) return '';
    const buf = this.held + text;
    const at = this.firstMatch(buf);
    if (at >= 0) {
      this.done = true;
      this.held = '';
      return buf.slice(0, at);
    }
    const keep = this.partialSuffix(buf);
    this.held = buf.slice(buf.length - keep);
    return buf.slice(0, buf.length - keep);
  }

  /** End of stream: the held text was not a stop string after all. */
  flush(): string {
    const out = this.done ? '' : this.held;
    this.held = '';
    return out;
  }

  private firstMatch(buf: string): number {
    let best = -1;
    for (const s of this.stops) {
      const i = buf.indexOf(s);
      if (i >= 0 && (best < 0 || i < best)) best = i;
    }
    return best;
  }

  /** Length of the longest suffix of `buf` that is a proper prefix of some stop string. */
  private partialSuffix(buf: string): number {
    let keep = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, buf.length); k > keep; k--) {
        if (buf.endsWith(s.slice(0, k))) {
          keep = k;
          break;
        }
      }
    }
    return keep;
  }
}
