/** The engine's typed errors. Services map them to their wire format in one place each. */

/** A request the engine will not run; `param` names the offending request field. */
export class InvalidRequestError extends Error {
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(message);
    this.name = 'InvalidRequestError';
  }
}

/** A request id the engine does not know (or that is not in the state the call needs). */
export class UnknownRequestError extends Error {
  constructor(
    readonly requestId: string,
    message = `unknown request ${requestId}`,
  ) {
    super(message);
    this.name = 'UnknownRequestError';
  }
}
