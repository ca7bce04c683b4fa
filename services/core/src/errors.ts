/**
 * Typed errors of @duet/core. Each carries a stable `code` so a service maps it to its wire format
 * (OpenAI error JSON, HTTP status, WireError) in exactly one place, and keeps the underlying
 * failure as `cause` for logs.
 */

export type DuetErrorCode = 'invalid-subject' | 'wire-decode' | 'payload-too-large';

export abstract class DuetError extends Error {
  abstract readonly code: DuetErrorCode;
}

/** A subject part (an id, or a prefix token) that NATS would misread: empty, a dot, a wildcard… */
export class InvalidSubjectError extends DuetError {
  readonly code = 'invalid-subject';
  constructor(
    /** Which part was bad, e.g. 'workerId' or 'prefix'. */
    readonly part: string,
    readonly value: string,
    reason: string,
  ) {
    super(`invalid NATS subject ${part} ${JSON.stringify(value)}: ${reason}`);
    this.name = 'InvalidSubjectError';
  }
}

/** Bytes that are not a valid encoding of the expected message (truncated, corrupt, wrong type). */
export class WireDecodeError extends DuetError {
  readonly code = 'wire-decode';
  constructor(
    /** Fully qualified protobuf name, e.g. 'duet.v1.TokenChunk'. */
    readonly typeName: string,
    readonly byteLength: number,
    options: { cause: unknown },
  ) {
    const why = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(`malformed ${typeName} (${byteLength} bytes): ${why}`, options);
    this.name = 'WireDecodeError';
  }
}

/** An encoded message larger than the limit it must fit (NATS max_payload, or a chunk budget). */
export class PayloadTooLargeError extends DuetError {
  readonly code = 'payload-too-large';
  constructor(
    readonly typeName: string,
    readonly byteLength: number,
    readonly limitBytes: number,
  ) {
    super(`${typeName} encodes to ${byteLength} bytes, over the ${limitBytes}-byte limit`);
    this.name = 'PayloadTooLargeError';
  }
}
