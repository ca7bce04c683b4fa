/**
 * createGatewayApp: the OpenAI-compatible HTTP API as a pure express app (no I/O until listened).
 *
 *   request id → metrics/log on finish → /healthz /readyz /metrics → auth (/v1) → JSON body
 *   → /v1/models /v1/chat/completions /v1/completions → OpenAI errors (one mapper)
 */
import { randomBytes } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Registry } from 'prom-client';
import type { Logger } from '@duet/core';
import type { InferenceBackend } from '../backend/types.ts';
import { createGatewayMetrics, type GatewayMetrics } from '../metrics.ts';
import type { ModelRegistry } from '../models.ts';
import { ApiError, toApiError } from './errors.ts';
import { generationRoutes } from './generate-routes.ts';

export interface GatewayDeps {
  backend: InferenceBackend;
  models: ModelRegistry;
  /** API key → tenant. When present and non-empty, /v1 needs `Authorization: Bearer <key>`. */
  apiKeys?: ReadonlyMap<string, string>;
  /** Largest JSON body accepted (413 past it). Default 1 MiB. */
  bodyLimitBytes?: number;
  /** A generation request still running after this long is cancelled (0 = never). Default 0. */
  requestTimeoutMs?: number;
  logger: Logger;
  registry: Registry;
}

export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

export interface GatewayApp {
  app: express.Express;
  metrics: GatewayMetrics;
}

function requestId(req: Request, res: Response, next: NextFunction): void {
  const given = req.get('x-request-id');
  const id = given && REQUEST_ID.test(given) ? given : `req-${randomBytes(12).toString('hex')}`;
  res.locals.requestId = id;
  res.set('x-request-id', id);
  next();
}

function accounting(metrics: GatewayMetrics, logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const t0 = performance.now();
    res.on('close', () => {
      const endpoint = (req.route as { path?: string } | undefined)?.path ?? 'other';
      const status = res.writableFinished ? res.statusCode : 499;
      metrics.requests.inc({ endpoint, status: String(status) });
      const body = req.body as { user?: unknown } | undefined;
      const user = typeof body?.user === 'string' ? body.user : undefined;
      logger.info({ requestId: res.locals.requestId as string, method: req.method, path: req.path, status, ms: Math.round(performance.now() - t0), user }, 'request');
    });
    next();
  };
}

function auth(keys: ReadonlyMap<string, string> | undefined) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!keys || keys.size === 0) {
      res.locals.tenant = '';
      return next();
    }
    const m = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '');
    const tenant = m ? keys.get(m[1].trim()) : undefined;
    if (tenant === undefined) {
      return next(new ApiError(401, 'authentication_error', m ? 'Incorrect API key provided' : 'Missing API key: send Authorization: Bearer <key>', null, 'invalid_api_key'));
    }
    res.locals.tenant = tenant;
    next();
  };
}

function errorHandler(logger: Logger) {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction): void => {
    const e = toApiError(err);
    if (e.status >= 500) logger.error({ requestId: res.locals.requestId as string, err }, e.message);
    if (res.headersSent) {
      res.end();
      return;
    }
    if (e.retryAfterS !== null) res.set('retry-after', String(e.retryAfterS));
    res.status(e.status).json(e.body());
  };
}

export function createGatewayApp(deps: GatewayDeps): GatewayApp {
  const metrics = createGatewayMetrics(deps.registry);
  const app = express();
  app.disable('x-powered-by');
  app.use(requestId, accounting(metrics, deps.logger));
  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/readyz', (_req, res) => void (deps.backend.ready() ? res.json({ status: 'ready' }) : res.status(503).json({ status: 'not ready' })));
  app.get('/metrics', async (_req, res) => {
    res.set('content-type', deps.registry.contentType).send(await deps.registry.metrics());
  });
  app.use('/v1', auth(deps.apiKeys), express.json({ limit: deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES }));
  app.get('/v1/models', (_req, res) => {
    const data = [...deps.models.values()].map((m) => ({ id: m.id, object: 'model', created: m.created, owned_by: 'duet', max_model_len: m.contextLength }));
    res.json({ object: 'list', data });
  });
  generationRoutes(app, { ...deps, metrics });
  app.use((req, _res, next) => next(new ApiError(404, 'not_found_error', `no route for ${req.method} ${req.path}`, null, 'unknown_url')));
  app.use(errorHandler(deps.logger));
  return { app, metrics };
}
