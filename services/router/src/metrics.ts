/** The router's Prometheus metrics (`duet_router_*`), read from its parts at scrape time. */
import { createRegistry, metricName } from '@duet/core';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { PlacementOutcome } from './placement.ts';
import type { Router } from './router.ts';

export class RouterMetrics {
  readonly registry: Registry;
  private readonly decisions: Counter<'result'>;
  private readonly decisionSeconds: Histogram;
  private readonly conflicts: Counter;
  private readonly degraded: Counter;

  constructor(router: Router, defaultMetrics: boolean) {
    const r = (this.registry = createRegistry('router', { defaultMetrics }));
    const n = (what: string, unit: string) => metricName('router', what, unit);
    this.decisions = new Counter({ name: n('decisions', 'total'), help: 'Placement decisions by result', labelNames: ['result'], registers: [r] });
    this.decisionSeconds = new Histogram({ name: n('decision', 'seconds'), help: 'Time to place one request (accounting round trips included)', buckets: [1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05], registers: [r] });
    this.conflicts = new Counter({ name: n('accounting_conflicts', 'total'), help: 'Decisions re-made because the accounting moved between read and reserve', registers: [r] });
    this.degraded = new Counter({ name: n('degraded_decisions', 'total'), help: 'Decisions made without load figures (accounting unavailable)', registers: [r] });
    const gauge = (what: string, unit: string, help: string, read: () => number) =>
      new Gauge({ name: n(what, unit), help, registers: [r], collect() { this.set(read()); } });
    gauge('live', 'workers', 'Workers with a recent heartbeat', () => router.registry.live().length);
    gauge('indexed', 'blocks', 'Distinct KV block hashes in the prefix index', () => router.fleet.index.size);
    gauge('kv_events_applied', 'total', 'KV events applied to the prefix index', () => router.kvSyncCounters?.eventsApplied ?? 0);
    gauge('kv_snapshots', 'total', 'KV snapshots loaded into the prefix index', () => router.kvSyncCounters?.snapshotsLoaded ?? 0);
    gauge('kv_event_gaps', 'total', 'Sequence gaps seen in KV events (each triggers a snapshot)', () => router.kvSyncCounters?.gaps ?? 0);
    gauge('policy_reloads', 'total', 'Routing policies applied after start', () => router.policy.counts.applied);
    gauge('policy_refused', 'total', 'Routing policy updates refused as invalid', () => router.policy.counts.refused);
    gauge('expert_profiles', 'entries', 'Prefix expert profiles held (MoE)', () => router.fleet.profiles.size);
  }

  observeDecision(result: string, seconds: number, outcome: PlacementOutcome | null): void {
    this.decisions.inc({ result });
    this.decisionSeconds.observe(seconds);
    if (outcome?.conflicts) this.conflicts.inc(outcome.conflicts);
    if (outcome?.degraded) this.degraded.inc();
  }
}
