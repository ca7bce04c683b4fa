/**
 * OpenTelemetry tracing across gateway → router → prefill → transfer → decode. Trace context crosses
 * NATS in message headers (W3C `traceparent`), via `injectTraceHeaders` / `extractTraceContext`.
 *
 * `initTracing` installs a tracer provider with an async-hooks context manager and the W3C
 * propagator. Exporters: none by default (spans are created and propagated but not shipped), an
 * in-memory exporter in tests, or OTLP when a deployment sets it up with the SDK's own env vars.
 */
import { context, propagation, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { AsyncHooksContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { MsgHdrs } from 'nats';
import { traceCarrier, traceHeaders, type TraceCarrier } from '../trace-context.ts';

let provider: BasicTracerProvider | null = null;

export interface TracingOptions {
  serviceName: string;
  /** Where finished spans go (tests pass an InMemorySpanExporter). */
  exporter?: SpanExporter;
}

/** Installs the global tracer provider once per process; later calls return the first one. */
export function initTracing(opts: TracingOptions): BasicTracerProvider {
  if (provider) return provider;
  provider = new BasicTracerProvider({
    spanProcessors: opts.exporter ? [new SimpleSpanProcessor(opts.exporter)] : [],
  });
  const cm = new AsyncHooksContextManager();
  cm.enable();
  context.setGlobalContextManager(cm);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return provider;
}

export function getTracer(component: string): Tracer {
  return trace.getTracer(`duet.${component}`);
}

/** NATS headers carrying the trace context of `ctx` (the active one by default). */
export function injectTraceHeaders(ctx: Context = context.active(), into?: MsgHdrs): MsgHdrs {
  const carrier: TraceCarrier = {};
  propagation.inject(ctx, carrier);
  return traceHeaders(carrier, into);
}

/** The context a received NATS message's headers carry (the root context when none). */
export function extractTraceContext(h: MsgHdrs | undefined): Context {
  return propagation.extract(context.active(), traceCarrier(h));
}

/** Runs `fn` inside a new span (child of `parent`), ending it — with the error recorded — after. */
export async function inSpan<T>(tracer: Tracer, name: string, parent: Context, fn: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, {}, parent, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: 2, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}
