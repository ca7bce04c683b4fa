/** The gateway's Prometheus metrics; names come from `metricName` (`duet_gateway_<what>_<unit>`). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { metricName } from '@duet/core';

const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const ITL_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1];

export interface GatewayMetrics {
  ttft: Histogram;
  interTokenLatency: Histogram;
  requests: Counter<'endpoint' | 'status'>;
  running: Gauge;
  promptTokens: Counter;
  cachedPromptTokens: Counter;
}

export const GATEWAY_METRIC_NAMES = {
  ttft: metricName('gateway', 'ttft', 'seconds'),
  interTokenLatency: metricName('gateway', 'inter_token_latency', 'seconds'),
  requests: metricName('gateway', 'requests', 'total'),
  running: metricName('gateway', 'running', 'requests'),
  promptTokens: metricName('gateway', 'prompt_tokens', 'total'),
  cachedPromptTokens: metricName('gateway', 'cached_prompt_tokens', 'total'),
} as const;

export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  const n = GATEWAY_METRIC_NAMES;
  const registers = [registry];
  return {
    ttft: new Histogram({ name: n.ttft, help: 'Time from request arrival to the first generated token', buckets: LATENCY_BUCKETS_S, registers }),
    interTokenLatency: new Histogram({ name: n.interTokenLatency, help: 'Time between generated tokens of one choice', buckets: ITL_BUCKETS_S, registers }),
    requests: new Counter({ name: n.requests, help: 'HTTP requests by endpoint and status code', labelNames: ['endpoint', 'status'], registers }),
    running: new Gauge({ name: n.running, help: 'Generation requests in flight', registers }),
    promptTokens: new Counter({ name: n.promptTokens, help: 'Prompt tokens of finished requests', registers }),
    cachedPromptTokens: new Counter({ name: n.cachedPromptTokens, help: 'Prompt tokens served from a KV cache', registers }),
  };
}
