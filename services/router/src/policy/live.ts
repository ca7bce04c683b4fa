/**
 * The router's live policy: loaded at start from a built-in name or a file, then replaced without a
 * restart when the file changes (polled; a Kubernetes ConfigMap mount updates the file in place)
 * or when a PolicyUpdate for this policy's name arrives on NATS (published by the operator). A
 * bad new policy is refused with its error logged; the previous one keeps routing.
 */
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import type { Logger, PolicyUpdate } from '@duet/core';
import type { CompiledPolicy } from './compile.ts';
import { parsePolicyText, resolvePolicyPath } from './load.ts';

export type PolicyChange = { policy: CompiledPolicy; source: string };

export class LivePolicy {
  private policy: CompiledPolicy;
  private readonly path: string;
  private watching = false;
  private natsGeneration = -1n;
  private readonly listeners: Array<(c: PolicyChange) => void> = [];
  /** Reloads applied / refused since start (metrics). */
  readonly counts = { applied: 0, refused: 0 };

  constructor(
    source: string,
    private readonly logger: Logger,
  ) {
    this.path = resolvePolicyPath(source);
    this.policy = parsePolicyText(readFileSync(this.path, 'utf8'), this.path);
  }

  get current(): CompiledPolicy {
    return this.policy;
  }

  onChange(fn: (c: PolicyChange) => void): void {
    this.listeners.push(fn);
  }

  /** Polls the policy file every `intervalMs` and applies a changed, valid file. */
  watch(intervalMs: number): void {
    if (this.watching || intervalMs <= 0) return;
    this.watching = true;
    watchFile(this.path, { interval: intervalMs, persistent: false }, (cur: Stats, prev: Stats) => {
      if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size) this.reloadFile();
    });
  }

  reloadFile(): boolean {
    return this.apply(() => parsePolicyText(readFileSync(this.path, 'utf8'), this.path), `file ${this.path}`);
  }

  /** A PolicyUpdate from NATS: applied if it names this policy and is newer than the last one. */
  applyUpdate(u: PolicyUpdate): boolean {
    if (u.kind !== 'RoutingPolicy' || u.name !== this.policy.name) {
      this.logger.debug({ kind: u.kind, name: u.name, following: this.policy.name }, 'policy update for another policy ignored');
      return false;
    }
    if (u.generation <= this.natsGeneration) return false;
    const ok = this.apply(() => parsePolicyText(u.documentJson, `nats:${u.name}@${u.generation}`), `nats generation ${u.generation}`);
    if (ok) this.natsGeneration = u.generation;
    return ok;
  }

  stop(): void {
    if (this.watching) unwatchFile(this.path);
    this.watching = false;
  }

  private apply(load: () => CompiledPolicy, source: string): boolean {
    let next: CompiledPolicy;
    try {
      next = load();
    } catch (err) {
      this.counts.refused++;
      this.logger.error({ err: (err as Error).message, source }, 'policy refused; the previous policy stays in force');
      return false;
    }
    this.policy = next;
    this.counts.applied++;
    this.logger.info({ policy: next.name, source }, 'policy applied');
    for (const fn of this.listeners) fn({ policy: next, source });
    return true;
  }
}
