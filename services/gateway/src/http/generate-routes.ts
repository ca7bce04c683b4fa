/** POST /v1/chat/completions and /v1/completions: validate → prepare → serve, in a `gateway.request` span. */
import { randomBytes } from 'node:crypto';
import type express from 'express';
import type { Request, Response } from 'express';
import { getTracer, inSpan } from '@duet/core';
import { context } from '@opentelemetry/api';
import type { GatewayDeps } from './app.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { ApiError, invalid } from './errors.ts';
import { chatFormat, completionFormat, type ResponseFormat } from './format.ts';
import { prepareChat, prepareCompletion, type Prepared } from './prepare.ts';
import { chatRequestSchema, completionRequestSchema } from './schemas.ts';
import { serveStream, serveWhole } from './serve.ts';
import type { ModelRegistry } from '../models.ts';

type Deps = GatewayDeps & { metrics: GatewayMetrics };

interface Endpoint {
  path: string;
  idPrefix: string;
  format: ResponseFormat;
  prepare(models: ModelRegistry, body: unknown): Prepared;
}

const ENDPOINTS: Endpoint[] = [
  { path: '/v1/chat/completions', idPrefix: 'chatcmpl', format: chatFormat, prepare: (m, b) => prepareChat(m, chatRequestSchema.parse(b)) },
  { path: '/v1/completions', idPrefix: 'cmpl', format: completionFormat, prepare: (m, b) => prepareCompletion(m, completionRequestSchema.parse(b)) },
];

/** Aborted when the client goes away before the response ends, or at the request timeout. */
function requestSignal(res: Response, timeoutMs: number): { signal: AbortSignal; timedOut: () => boolean; dispose: () => void } {
  const ctrl = new AbortController();
  let timedOut = false;
  const onClose = (): void => {
    if (!res.writableFinished) ctrl.abort();
  };
  res.on('close', onClose);
  const timer = timeoutMs > 0 ? setTimeout(() => ((timedOut = true), ctrl.abort()), timeoutMs) : null;
  return { signal: ctrl.signal, timedOut: () => timedOut, dispose: () => timer && clearTimeout(timer) };
}

async function handle(deps: Deps, ep: Endpoint, req: Request, res: Response): Promise<void> {
  if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) throw invalid('the body must be a JSON object (Content-Type: application/json)', null);
  const prepared = ep.prepare(deps.models, req.body);
  const startedAt = performance.now();
  const rs = requestSignal(res, deps.requestTimeoutMs ?? 0);
  const ctx = {
    res,
    backend: deps.backend,
    metrics: deps.metrics,
    prepared,
    format: ep.format,
    requestId: `${ep.idPrefix}-${randomBytes(12).toString('hex')}`,
    hashSalt: res.locals.tenant as string,
    signal: rs.signal,
    startedAt,
  };
  deps.logger.debug({ requestId: res.locals.requestId as string, backendRequestId: ctx.requestId, promptTokens: prepared.promptIds.length, n: prepared.n }, 'generation');
  deps.metrics.running.inc();
  try {
    await inSpan(getTracer('gateway'), 'gateway.request', context.active(), async (span) => {
      span.setAttributes({ 'duet.request_id': ctx.requestId, 'duet.model': prepared.model.id, 'duet.prompt_tokens': prepared.promptIds.length });
      await (prepared.stream ? serveStream(ctx) : serveWhole(ctx));
    });
    if (rs.timedOut() && !res.headersSent) throw new ApiError(504, 'server_error', `the request did not finish within ${deps.requestTimeoutMs} ms`, null, 'timeout');
    if (rs.timedOut() && !res.writableEnded) res.end();
  } finally {
    rs.dispose();
    deps.metrics.running.dec();
  }
}

export function generationRoutes(app: express.Express, deps: Deps): void {
  for (const ep of ENDPOINTS) app.post(ep.path, (req, res) => handle(deps, ep, req, res));
}
