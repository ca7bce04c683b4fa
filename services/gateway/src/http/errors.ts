/**
 * Every failure the gateway answers is mapped to OpenAI's error JSON here and nowhere else:
 *
 *   {"error": {"message": "...", "type": "invalid_request_error", "param": "temperature", "code": null}}
 */
import { z } from 'zod';
import { BackendFailureError, BackendRequestError, NoCapacityError } from '../backend/errors.ts';

export type OpenAiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'server_error'
  | 'service_unavailable_error';

/** A failure with its HTTP status; everything else is converted to one by `toApiError`. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly type: OpenAiErrorType,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    /** Seconds, sent as `Retry-After` (503). */
    readonly retryAfterS: number | null = null,
  ) {
    super(message);
  }

  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const invalid = (message: string, param: string | null, code: string | null = null): ApiError =>
  new ApiError(400, 'invalid_request_error', message, param, code);

/** zod's first issue, with the field path as OpenAI's `param` (`messages[0].content` style). */
function fromZod(err: z.ZodError): ApiError {
  const issue = err.issues[0];
  const param = issue.path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '');
  return invalid(`${param || 'body'}: ${issue.message}`, param || null);
}

/** body-parser errors carry a `type` and a `status`. */
function fromBodyParser(err: { type?: unknown; status?: unknown; message?: unknown }): ApiError | null {
  if (err.type === 'entity.parse.failed') return invalid(`malformed JSON body: ${String(err.message)}`, null, 'invalid_json');
  if (err.type === 'entity.too.large') return new ApiError(413, 'invalid_request_error', 'request body is larger than the limit', null, 'request_too_large');
  if (typeof err.status === 'number' && err.status >= 400 && err.status < 500) return invalid(String(err.message), null);
  return null;
}

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof z.ZodError) return fromZod(err);
  if (err instanceof NoCapacityError) {
    return new ApiError(503, 'service_unavailable_error', `no capacity: ${err.message}`, null, 'no_capacity', Math.max(1, Math.ceil(err.retryAfterMs / 1000)));
  }
  if (err instanceof BackendRequestError) {
    return err.notFound ? new ApiError(404, 'not_found_error', err.message, err.param, 'model_not_found') : invalid(err.message, err.param);
  }
  if (err instanceof BackendFailureError) return new ApiError(502, 'server_error', `backend failure: ${err.message}`, null, 'backend_error');
  if (typeof err === 'object' && err !== null) {
    const bp = fromBodyParser(err);
    if (bp) return bp;
  }
  return new ApiError(500, 'server_error', `internal error: ${err instanceof Error ? err.message : String(err)}`);
}
