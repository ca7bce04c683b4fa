/**
 * W3C trace context in NATS headers. Protobuf messages never carry it: a header is readable by any
 * hop (and by `nats sub --headers`) without decoding the payload, and adding tracing later changes
 * no message.
 *
 * Plain string maps on purpose: OpenTelemetry's propagator injects into and extracts from any
 * carrier object, so the OTel wiring (later) is `propagation.inject(ctx, carrier)` followed by
 * `traceHeaders(carrier)`, and `propagation.extract(ctx, traceCarrier(msg.headers))`.
 */
import { headers, Match, type MsgHdrs } from 'nats';

/** The W3C Trace Context header names, lowercase as the spec writes them. */
export const TRACE_HEADER_NAMES = ['traceparent', 'tracestate'] as const;

export type TraceCarrier = Record<string, string>;

/**
 * NATS headers holding the trace keys of `carrier` (other keys are ignored; empty values are
 * skipped). Adds to `into` when given, replacing earlier values of the same keys.
 */
export function traceHeaders(carrier: Readonly<TraceCarrier>, into?: MsgHdrs): MsgHdrs {
  const h = into ?? headers();
  for (const name of TRACE_HEADER_NAMES) {
    const value = carrier[name];
    if (typeof value === 'string' && value.length > 0) h.set(name, value);
  }
  return h;
}

/**
 * The trace keys found in `h` (case-insensitively), as a plain map; empty when the message had no
 * headers or no trace context.
 */
export function traceCarrier(h: MsgHdrs | undefined): TraceCarrier {
  const out: TraceCarrier = {};
  if (!h) return out;
  for (const name of TRACE_HEADER_NAMES) {
    if (h.has(name, Match.IgnoreCase)) {
      const value = h.get(name, Match.IgnoreCase);
      if (value.length > 0) out[name] = value;
    }
  }
  return out;
}
