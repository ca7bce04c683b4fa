/**
 * API errors as the API server returns them: an HTTP code plus a `Status` body whose `reason`
 * clients branch on (NotFound, AlreadyExists, Conflict, Gone/Expired, Invalid, BadRequest).
 */

export type StatusReason =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Expired'
  | 'Invalid'
  | 'BadRequest'
  | 'MethodNotAllowed'
  | 'UnsupportedMediaType'
  | 'InternalError'
  | 'ServiceUnavailable';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details: { name?: string; group?: string; kind?: string } = {},
  ) {
    super(message);
  }

  toStatus(): Record<string, unknown> {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, details: this.details, code: this.code };
  }
}

export const notFound = (kind: string, name: string, group: string): ApiError =>
  new ApiError(404, 'NotFound', `${kind.toLowerCase()}${group ? '.' + group : ''} "${name}" not found`, { name, group, kind });

export const conflict = (kind: string, name: string, group: string, why = 'the object has been modified; please apply your changes to the latest version and try again'): ApiError =>
  new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${kind.toLowerCase()}${group ? '.' + group : ''} "${name}": ${why}`, { name, group, kind });

export const invalid = (kind: string, name: string, message: string): ApiError => new ApiError(422, 'Invalid', `${kind} "${name}" is invalid: ${message}`, { name, kind });

export const badRequest = (message: string): ApiError => new ApiError(400, 'BadRequest', message);
