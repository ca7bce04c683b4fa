/**
 * Typed backend failures. The HTTP layer maps them to status codes in one place
 * (`http/errors.ts`); backends only say what went wrong.
 */

/** No worker can take the request now (HTTP 503 with Retry-After). */
export class NoCapacityError extends Error {
  override name = 'NoCapacityError';
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

/** The request itself is wrong in a way only the backend could tell (HTTP 400, or 404 for `model`). */
export class BackendRequestError extends Error {
  override name = 'BackendRequestError';
  constructor(
    message: string,
    readonly param: string | null,
    readonly notFound = false,
  ) {
    super(message);
  }
}

/** The backend broke: unreachable, protocol violation, worker failure (HTTP 502). */
export class BackendFailureError extends Error {
  override name = 'BackendFailureError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
