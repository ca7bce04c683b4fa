/**
 * The simulated cluster: workers, the real router, the request path, on one event queue.
 *
 *   arrive ──router.place (real PolicyPlacer)──▶ deliver (+ routeMs)
 *     local:          decode worker prefills and decodes          ─▶ tokens (+ hopMs each)
 *     disaggregated:  decode worker pins its cached prefix and reserves the rest (beginImport);
 *                     prefill worker computes the prompt; each chunk's KV crosses the link while
 *                     later chunks compute; transfer done ─▶ first token, decode joins the batch
 *                     (a one-token answer, or an import that does not fit, is prefilled on the
 *                     decode worker; the prefill worker computes anyway and its KV is not taken)
 *   finished / prefill done / rejected ─▶ router request events (accounting released)
 *
 * The link: a prefill worker sends over one link (bandwidth of the cost model). A chunk's bytes
 * (its tokens past the decode worker's pinned prefix) become available layer by layer during the
 * step, so the chunk is on the wire from max(link free, step start) and done no earlier than its
 * last layer's share after the step ends:
 *
 *   done = max( max(linkFree, stepStart) + bytes / B,  stepEnd + bytes / (layers · B) )
 *   first token at max(prefill done, last chunk done) + latency + hop
 *
 * Events at equal times run in the order they were scheduled; the router's random source is
 * seeded: a run is a pure function of its inputs.
 */
import type { RequestTiming } from '../run/timing.ts';
import type { CostModel } from './cost-model.ts';
import { linkMs } from './cost-model.ts';
import { EventQueue } from './event-queue.ts';
import { Feeder } from './feeder.ts';
import type { SimRequest } from './requests.ts';
import { SimRouter } from './router.ts';
import { SimSeq, SimWorker, type SimEngineConfig, type SimRole, type WorkerHooks } from './worker.ts';
import type { KvEventOps } from './kv-cache.ts';

export type PoolName = 'prefill' | 'decode';

export interface ClusterOptions {
  cost: CostModel;
  engine: SimEngineConfig;
  /** Initial pool sizes; with no prefill worker the decode workers run in role `both`. */
  prefill: number;
  decode: number;
  /** Built-in routing policy name or RoutingPolicy file. */
  policy: string;
  random: () => number;
  /** Scale-up: a new worker is READY this long after it is asked for. */
  workerStartupMs: number;
}

interface ReqState {
  req: SimRequest;
  t: RequestTiming;
  decode: SimWorker | null;
  prefill: SimWorker | null;
  dSeq: SimSeq | null;
  pSeq: SimSeq | null;
  /** Decode worker's pinned prefix (tokens not sent). */
  pinned: number;
  /** The decode worker prefills locally although a prefill worker was chosen (a one-token answer, or an import that did not fit). */
  fallback: boolean;
  linkDoneMs: number;
}

type SimEvent =
  | { kind: 'arrive'; r: ReqState }
  | { kind: 'deliver'; r: ReqState }
  | { kind: 'step'; w: SimWorker }
  | { kind: 'transfer'; r: ReqState }
  | { kind: 'ready'; w: SimWorker }
  | { kind: 'tick' };

export interface FinishedSample {
  atMs: number;
  ttftMs: number;
  tpotMs: number | null;
}

export interface ClusterStats {
  events: number;
  steps: number;
  preemptions: number;
  evictions: number;
  disaggregated: number;
  local: number;
  transferFallbacks: number;
  transferredBytes: number;
  kvEventBatches: number;
  workersStarted: number;
  workersStopped: number;
}

/** Called every tick interval while requests remain (the planner). */
export interface Ticker {
  intervalMs: number;
  tick(cluster: SimCluster, nowMs: number): void;
}

export class SimCluster implements WorkerHooks {
  now = 0;
  readonly router: SimRouter;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly workers: SimWorker[] = [];
  private readonly byId = new Map<string, SimWorker>();
  /** Requests placed on a worker and not yet delivered to it: it may not stop before they land. */
  private readonly inbound = new Map<SimWorker, number>();
  private readonly byRequest = new Map<string, ReqState>();
  private readonly linkFree = new Map<SimWorker, number>();
  private readonly nextId: Record<PoolName, number> = { prefill: 0, decode: 0 };
  private seqOrder = 0;
  private feeder: Feeder | null = null;
  private done = 0;
  private total = 0;
  /** Requests that finished, for SLO windows (the gateway's SloReport view). */
  readonly finishedSamples: FinishedSample[] = [];
  private readonly stats = { disaggregated: 0, local: 0, transferFallbacks: 0, transferredBytes: 0, workersStarted: 0, workersStopped: 0, events: 0 };
  private readonly removed: SimWorker[] = [];

  constructor(private readonly o: ClusterOptions) {
    this.router = new SimRouter({ policy: o.policy, random: o.random, now: () => this.now, model: o.cost.model.name });
    const role: SimRole = o.prefill === 0 ? 'both' : 'decode';
    for (let i = 0; i < o.prefill; i++) this.ready(this.addWorker('prefill', 'prefill'));
    for (let i = 0; i < o.decode; i++) this.ready(this.addWorker('decode', role));
  }

  /** Runs every request to its end; returns their timings in send order. */
  async run(requests: readonly SimRequest[], concurrency: number | null, ticker: Ticker | null = null): Promise<RequestTiming[]> {
    const states: ReqState[] = [];
    this.total = requests.length;
    this.feeder = new Feeder(requests, concurrency, (req, atMs) => {
      const r = this.track(req);
      states.push(r);
      this.queue.push(atMs, { kind: 'arrive', r });
    });
    this.feeder.start();
    if (ticker) this.queue.push(ticker.intervalMs, { kind: 'tick' });
    for (let ev = this.queue.pop(); ev; ev = this.queue.pop()) {
      this.now = ev.at;
      this.stats.events++;
      const e = ev.item;
      switch (e.kind) {
        case 'arrive':
          await this.arrive(e.r);
          break;
        case 'deliver':
          this.deliver(e.r);
          break;
        case 'step':
          e.w.endStep(this.now);
          break;
        case 'transfer':
          this.transferDone(e.r);
          break;
        case 'ready':
          if (e.w.state === 'starting') this.ready(e.w);
          break;
        case 'tick':
          if (this.done < this.total && ticker) {
            ticker.tick(this, this.now);
            this.queue.push(this.now + ticker.intervalMs, { kind: 'tick' });
          }
          break;
      }
    }
    if (this.done !== this.total) throw new Error(`simulation ended with ${this.total - this.done} of ${this.total} requests unfinished (a request waits on something no event will bring)`);
    return states.map((s) => s.t).sort((a, b) => a.startMs - b.startMs);
  }

  // ── pools (the planner's actuator) ─────────────────────────────────────────────────────────

  /** Workers of a pool that count as capacity: starting or ready, not draining. */
  counted(pool: PoolName): SimWorker[] {
    return this.workers.filter((w) => poolOf(w) === pool && (w.state === 'starting' || w.state === 'ready'));
  }

  /** Every live worker (any state but stopped). */
  live(): readonly SimWorker[] {
    return this.workers;
  }

  /** Grow at once (new workers READY after the startup time); shrink by draining the least loaded. */
  scaleTo(pool: PoolName, replicas: number): void {
    const now = this.counted(pool);
    const role: SimRole = pool === 'prefill' ? 'prefill' : this.o.prefill === 0 && this.counted('prefill').length === 0 ? 'both' : 'decode';
    for (let i = now.length; i < replicas; i++) {
      const w = this.addWorker(pool, role);
      this.queue.push(this.now + this.o.workerStartupMs, { kind: 'ready', w });
    }
    if (replicas < now.length) for (const w of pickVictims(now, now.length - replicas)) this.drain(w);
  }

  simStats(): ClusterStats {
    const all = [...this.workers, ...this.removed];
    return {
      events: this.stats.events,
      steps: all.reduce((s, w) => s + w.stats.steps, 0),
      preemptions: all.reduce((s, w) => s + w.stats.preemptions, 0),
      evictions: all.reduce((s, w) => s + w.cache.evictions, 0),
      disaggregated: this.stats.disaggregated,
      local: this.stats.local,
      transferFallbacks: this.stats.transferFallbacks,
      transferredBytes: this.stats.transferredBytes,
      kvEventBatches: this.router.counts.kvBatches,
      workersStarted: this.stats.workersStarted,
      workersStopped: this.stats.workersStopped,
    };
  }

  // ── worker hooks ───────────────────────────────────────────────────────────────────────────

  scheduleStep(w: SimWorker, atMs: number): void {
    this.queue.push(atMs, { kind: 'step', w });
  }

  onKvEvents(w: SimWorker, ops: KvEventOps): void {
    this.router.kvEvents(w.id, ops);
  }

  onIdle(w: SimWorker): void {
    if (w.state === 'draining' && !this.inbound.get(w)) this.stop(w);
  }

  onPrefillChunk(w: SimWorker, seq: SimSeq, startMs: number, endMs: number, from: number, to: number): void {
    const r = this.byRequest.get(seq.req.id)!;
    if (r.fallback) return;
    const tokens = Math.max(0, to - Math.max(from, r.pinned));
    if (tokens === 0) return;
    const bytes = tokens * this.o.cost.model.kvBytesPerToken;
    const wire = linkMs(this.o.cost, bytes);
    const done = Math.max(Math.max(this.linkFree.get(w) ?? 0, startMs) + wire, endMs + wire / this.o.cost.model.layers);
    this.linkFree.set(w, done);
    r.linkDoneMs = done;
    this.stats.transferredBytes += bytes;
  }

  onToken(w: SimWorker, seq: SimSeq, atMs: number): void {
    const r = this.byRequest.get(seq.req.id)!;
    if (seq.mode === 'prefill') {
      if (r.fallback || r.t.error) return this.prefillSettled(r, atMs);
      this.queue.push(Math.max(atMs, r.linkDoneMs) + this.o.cost.transfer.latencyMs, { kind: 'transfer', r });
      return;
    }
    if (seq.generated === 1 && seq.mode === 'local') void this.router.prefillDone(r.req.id, w.id, r.req.promptTokens);
    this.token(r, atMs + this.o.cost.platform.hopMs);
  }

  // ── the request path ───────────────────────────────────────────────────────────────────────

  private track(req: SimRequest): ReqState {
    const t: RequestTiming = {
      id: req.id, startMs: 0, firstTokenMs: null, tokenTimesMs: [], endMs: 0, promptTokens: req.promptTokens, outputTokens: 0, cachedTokens: null, error: null,
      ...(req.session ? { session: req.session.id } : {}), ...(req.prefixGroup ? { prefixGroup: req.prefixGroup } : {}), ...(req.domain ? { domain: req.domain } : {}),
    };
    const r: ReqState = { req, t, decode: null, prefill: null, dSeq: null, pSeq: null, pinned: 0, fallback: false, linkDoneMs: 0 };
    this.byRequest.set(req.id, r);
    return r;
  }

  private async arrive(r: ReqState): Promise<void> {
    r.t.startMs = this.now;
    const { decision } = await this.router.place(r.req);
    const res = decision.response.result;
    if (res?.case !== 'placed') return this.fail(r, this.now + this.o.cost.platform.routeMs, 'http_503:no_capacity');
    r.decode = this.workerById(res.value.decodeWorkerId ?? '');
    const p = res.value.prefillWorkerId;
    r.prefill = p && p !== res.value.decodeWorkerId ? this.workerById(p) : null;
    if (r.prefill) this.stats.disaggregated++;
    else this.stats.local++;
    for (const w of [r.decode, r.prefill]) if (w) this.inbound.set(w, (this.inbound.get(w) ?? 0) + 1);
    this.queue.push(this.now + this.o.cost.platform.routeMs, { kind: 'deliver', r });
  }

  private deliver(r: ReqState): void {
    const d = r.decode!;
    for (const w of [d, r.prefill]) if (w) this.inbound.set(w, this.inbound.get(w)! - 1);
    const { req } = r;
    const S = this.o.engine.blockSize;
    if (Math.ceil((req.promptTokens + req.maxTokens) / S) > d.engine.numBlocks) {
      void this.router.rejected(req.id, d.id);
      this.fail(r, this.now + this.o.cost.platform.hopMs, 'http_400:invalid_request');
      this.maybeStop(d);
      return this.maybeStop(r.prefill);
    }
    if (!r.prefill) {
      r.dSeq = new SimSeq(req, 'local', this.seqOrder++);
      return d.submit(r.dSeq, this.now);
    }
    // As the decode worker: a one-token answer is prefilled locally (the prefill worker still gets
    // its request and computes; its KV is not taken); an import that does not fit falls back.
    r.dSeq = req.maxTokens >= 2 ? new SimSeq(req, 'import', this.seqOrder++) : null;
    if (r.dSeq && d.beginImport(r.dSeq)) {
      r.pinned = r.dSeq.cachedTokens;
    } else {
      if (r.dSeq) this.stats.transferFallbacks++;
      r.fallback = true;
      r.dSeq = new SimSeq(req, 'local', this.seqOrder++);
      d.submit(r.dSeq, this.now);
    }
    r.pSeq = new SimSeq(req, 'prefill', this.seqOrder++);
    r.prefill.submit(r.pSeq, this.now);
  }

  /** A draining worker that holds nothing and expects nothing stops. */
  private maybeStop(w: SimWorker | null): void {
    if (w && w.state === 'draining' && w.heldWork === 0 && !this.inbound.get(w)) this.stop(w);
  }

  private transferDone(r: ReqState): void {
    this.prefillSettled(r, this.now);
    r.decode!.completeImport(r.dSeq!, this.now);
    this.token(r, this.now + this.o.cost.platform.hopMs);
  }

  /** The prefill worker's KV is sent (or no longer needed): release it, report PREFILL_DONE. */
  private prefillSettled(r: ReqState, atMs: number): void {
    r.prefill!.releaseHeld(r.pSeq!, atMs);
    void this.router.prefillDone(r.req.id, r.prefill!.id, r.req.promptTokens);
  }

  private token(r: ReqState, atMs: number): void {
    const t = r.t;
    if (t.firstTokenMs === null) t.firstTokenMs = atMs;
    t.tokenTimesMs.push(atMs);
    if (t.tokenTimesMs.length < r.req.maxTokens) return;
    t.outputTokens = t.tokenTimesMs.length;
    t.cachedTokens = r.prefill && !r.fallback ? r.pSeq!.cachedTokens : r.dSeq!.cachedTokens;
    t.endMs = atMs;
    void this.router.finished(r.req.id, r.decode!.id, r.req.promptTokens, t.outputTokens);
    const ttft = t.firstTokenMs - t.startMs;
    const tpot = t.outputTokens >= 2 ? (atMs - t.firstTokenMs) / (t.outputTokens - 1) : null;
    this.finishedSamples.push({ atMs, ttftMs: ttft, tpotMs: tpot });
    this.end(r, atMs);
  }

  private fail(r: ReqState, atMs: number, error: string): void {
    r.t.error = error;
    r.t.endMs = atMs;
    this.end(r, atMs);
  }

  /** The request is over for the client; its state stays (a prefill may still be running after a fallback). */
  private end(r: ReqState, atMs: number): void {
    this.done++;
    this.feeder!.ended(r.req, atMs);
  }

  // ── workers ────────────────────────────────────────────────────────────────────────────────

  private addWorker(pool: PoolName, role: SimRole): SimWorker {
    const w = new SimWorker(`${pool}-${this.nextId[pool]++}`, role, this.o.engine, this.o.cost, this);
    this.workers.push(w);
    this.byId.set(w.id, w);
    this.stats.workersStarted++;
    return w;
  }

  private ready(w: SimWorker): void {
    w.state = 'ready';
    this.router.heartbeat(this.info(w), 'ready');
  }

  private drain(w: SimWorker): void {
    if (w.state === 'starting') return this.stop(w);
    w.state = 'draining';
    this.router.heartbeat(this.info(w), 'draining');
    this.maybeStop(w);
  }

  private stop(w: SimWorker): void {
    const wasReady = w.state !== 'starting';
    w.state = 'stopped';
    if (wasReady) this.router.heartbeat(this.info(w), 'stopping');
    this.workers.splice(this.workers.indexOf(w), 1);
    this.byId.delete(w.id);
    this.removed.push(w);
    this.stats.workersStopped++;
  }

  private info(w: SimWorker): { id: string; role: SimRole; engine: SimEngineConfig; maxModelLen: number } {
    return { id: w.id, role: w.role, engine: w.engine, maxModelLen: this.o.cost.model.maxContextTokens };
  }

  private workerById(id: string): SimWorker {
    const w = this.byId.get(id);
    if (!w) throw new Error(`the router placed on ${id}, which the simulator does not know`);
    return w;
  }
}

export function poolOf(w: SimWorker): PoolName {
  return w.role === 'prefill' ? 'prefill' : 'decode';
}

/** The actuator's victims: least held work, then still starting, then the highest id (newest). */
export function pickVictims(candidates: readonly SimWorker[], count: number): SimWorker[] {
  const num = (id: string): number => Number(id.slice(id.lastIndexOf('-') + 1));
  return [...candidates]
    .sort((a, b) => a.heldWork - b.heldWork || (a.state === 'starting' ? 0 : 1) - (b.state === 'starting' ? 0 : 1) || num(b.id) - num(a.id))
    .slice(0, Math.max(0, count));
}
