/**
 * Typed errors of the model-format layer. Each names what the operator must fix: a config.json
 * field, a tensor, or a file. Callers map them to the wire in one place (the service's error mapper).
 */

/** A config.json / generation_config.json value the engine cannot run; `field` is the JSON key. */
export class ModelConfigError extends Error {
  override readonly name = 'ModelConfigError';
  readonly field: string;

  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.field = field;
  }
}

/** A model folder that cannot be loaded: a missing or malformed file or tensor. */
export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
  /** The tensor at fault, when there is one. */
  readonly tensor: string | null;
  /** The file at fault, when there is one. */
  readonly file: string | null;

  constructor(
    message: string,
    where: { tensor?: string; file?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.tensor = where.tensor ?? null;
    this.file = where.file ?? null;
  }
}
