/** Typed errors of the test kit: each says what to do about it. */

/** The server binary is not on PATH (or not executable where the options point). */
export class MissingBinaryError extends Error {
  constructor(
    readonly binary: string,
    /** Debian/Ubuntu package that provides it. */
    readonly aptPackage: string,
    searched: string,
  ) {
    super(
      `${binary} not found (searched ${searched || 'an empty PATH'}); ` +
        `install it with \`apt-get install -y ${aptPackage}\` (tests run real servers, never mocks)`,
    );
    this.name = 'MissingBinaryError';
  }
}

/** The server exited during start-up, or did not become ready in time. */
export class ServerStartError extends Error {
  constructor(
    readonly binary: string,
    reason: string,
    /** The last lines the server printed (stdout and stderr). */
    readonly logTail: string,
    options?: { cause?: unknown },
  ) {
    super(`${binary} did not start: ${reason}\n--- ${binary} output (tail) ---\n${logTail || '(nothing)'}`, options);
    this.name = 'ServerStartError';
  }
}
