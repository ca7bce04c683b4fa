/**
 * The result of one load test (results.json): the metric summary plus what was run. The simulator
 * writes the same object, with `target.url` naming the simulation.
 */
import type { MetricSummary, TimelinePoint } from './metrics.ts';

export interface LoadTestResult extends MetricSummary {
  target: { url: string; model: string };
  workload: { name: string; description: string; params: Record<string, string | number | boolean> };
  arrival: string;
  /** Share of prompt tokens an unlimited shared cache could serve (arrival order, full blocks). */
  prefix_hit_rate_upper_bound: number;
  /** KV block size the bound was computed with. */
  block_size: number;
  /** ISO time the run started. */
  started_at: string;
  bucket_s: number;
  timeline: TimelinePoint[];
}
