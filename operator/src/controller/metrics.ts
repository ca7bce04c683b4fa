/**
 * The operator's Prometheus metrics (`duet_operator_…`): reconciles by kind and result, their
 * duration, the work queue's depth and whether this replica leads.
 */
import { createRegistry, metricName } from '@duet/core';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class OperatorMetrics {
  readonly registry: Registry;
  readonly reconciles: Counter<'kind' | 'result'>;
  readonly reconcileSeconds: Histogram<'kind'>;
  readonly queueDepth: Gauge;
  readonly leader: Gauge;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    this.registry = createRegistry('operator', { defaultMetrics: opts.defaultMetrics ?? true });
    const registers = [this.registry];
    this.reconciles = new Counter({ name: metricName('operator', 'reconciles', 'total'), help: 'Reconciles by kind and result (ok, error).', labelNames: ['kind', 'result'], registers });
    this.reconcileSeconds = new Histogram({
      name: metricName('operator', 'reconcile', 'seconds'),
      help: 'Duration of one reconcile.',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.queueDepth = new Gauge({ name: metricName('operator', 'queue_depth', 'keys'), help: 'Keys waiting in the work queue.', registers });
    this.leader = new Gauge({ name: metricName('operator', 'leader', 'bool'), help: '1 while this replica holds the leader lease.', registers });
  }
}
