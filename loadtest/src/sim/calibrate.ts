/**
 * Platform calibration: what bench:engine cannot see — how fast this machine computes right now
 * inside the running platform (other processes share the cores; the worker loop, streaming and
 * NATS add their own work), and the fixed delay of the request path. Taken from a calibration run
 * on the real platform — requests one at a time, fresh prompts of two lengths — and simulations of
 * the same requests (the engine-only model first):
 *
 *   speed    s = real TPOT / simulated TPOT                every step term × s
 *   prefill  p = (real TTFT_long − real TTFT_short)        prefill and attention terms × p
 *              / (sim TTFT_long − sim TTFT_short)
 *   route    routeMs += mean(real TTFT − sim TTFT)         (≥ 0)
 *
 * Batch-1 decode steps measure s; the TTFT difference between long and short prompts measures the
 * per-token prefill cost, and what is left of TTFT is the fixed path. The calibration run must not
 * be the run that validates the simulator.
 */
import { ttftOf, tpotOf } from '../metrics.ts';
import type { RequestTiming } from '../run/timing.ts';
import type { CostModel } from './cost-model.ts';
import type { Source } from './source.ts';
import { simulate } from './simulate.ts';
import type { SimEngineConfig } from './worker.ts';

export interface Calibration {
  cost: CostModel;
  speedFactor: number;
  prefillFactor: number;
  real: { ttftShortMs: number; ttftLongMs: number; tpotMs: number };
  /** The uncalibrated model on the same requests. */
  before: { ttftShortMs: number; ttftLongMs: number; tpotMs: number };
}

const mean = (xs: readonly number[]): number => xs.reduce((a, x) => a + x, 0) / xs.length;
const round = (x: number, d = 1e4): number => Math.round(x * d) / d;

/** Mean TTFT of the short and the long prompts (split at the median length), mean TPOT. */
function means(timings: readonly RequestTiming[]): { ttftShortMs: number; ttftLongMs: number; tpotMs: number } {
  const ok = timings.filter((t) => t.error === null && ttftOf(t) !== null);
  const lengths = [...new Set(ok.map((t) => t.promptTokens))].sort((a, b) => a - b);
  const tpots = ok.map(tpotOf).filter((x): x is number => x !== null);
  if (lengths.length < 2 || tpots.length === 0) throw new Error('calibration needs successful requests of two prompt lengths with at least 2 output tokens');
  const cut = lengths[lengths.length >> 1];
  return {
    ttftShortMs: mean(ok.filter((t) => t.promptTokens < cut).map((t) => ttftOf(t)!)),
    ttftLongMs: mean(ok.filter((t) => t.promptTokens >= cut).map((t) => ttftOf(t)!)),
    tpotMs: mean(tpots),
  };
}

function scaled(m: CostModel, speed: number, prefill: number, routeMs = m.platform.routeMs): CostModel {
  const s = m.step;
  return {
    ...m,
    step: { baseMs: s.baseMs * speed, prefillTokenMs: s.prefillTokenMs * speed * prefill, decodeSeqMs: s.decodeSeqMs * speed, attentionPairMs: s.attentionPairMs * speed * prefill },
    platform: { ...m.platform, routeMs },
  };
}

/** `source` holds the calibration requests as sent; `real` their timings on the real platform. */
export async function calibratePlatform(cost: CostModel, source: Source, real: readonly RequestTiming[], o: { engine: SimEngineConfig; prefill: number; decode: number; policy?: string }): Promise<Calibration> {
  const produced = new Map(real.map((t) => [t.id, t.outputTokens]));
  const requests = source.requests.map((r) => ({ ...r, maxTokens: Math.max(1, produced.get(r.id) || r.maxTokens) }));
  const sim = async (c: CostModel) => means((await simulate({ source: { ...source, requests }, cost: c, ...o, seed: 0 })).timings);
  const measured = means(real);
  const before = await sim(cost);
  const speed = measured.tpotMs / before.tpotMs;
  const afterSpeed = await sim(scaled(cost, speed, 1));
  const prefill = Math.max(0.05, (measured.ttftLongMs - measured.ttftShortMs) / (afterSpeed.ttftLongMs - afterSpeed.ttftShortMs));
  const afterPrefill = await sim(scaled(cost, speed, prefill));
  const gap = mean([measured.ttftShortMs - afterPrefill.ttftShortMs, measured.ttftLongMs - afterPrefill.ttftLongMs]);
  const calibrated = scaled(cost, speed, prefill, round(Math.max(0, cost.platform.routeMs + gap), 1e3));
  calibrated.step = {
    baseMs: round(calibrated.step.baseMs), prefillTokenMs: round(calibrated.step.prefillTokenMs, 1e6),
    decodeSeqMs: round(calibrated.step.decodeSeqMs), attentionPairMs: round(calibrated.step.attentionPairMs, 1e9),
  };
  calibrated.fit = {
    ...cost.fit,
    platform_calibration: {
      requests: real.length, speed_factor: round(speed), prefill_factor: round(prefill),
      real_ms: { ttft_short: round(measured.ttftShortMs), ttft_long: round(measured.ttftLongMs), tpot: round(measured.tpotMs) },
      uncalibrated_ms: { ttft_short: round(before.ttftShortMs), ttft_long: round(before.ttftLongMs), tpot: round(before.tpotMs) },
    },
  };
  return { cost: calibrated, speedFactor: speed, prefillFactor: prefill, real: measured, before };
}
