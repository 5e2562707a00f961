/**
 * Every error the library throws on purpose is a SagasuError: its message starts with
 * "sagasu: " and its `code` lets adapters (CLI, bot) choose an exit code or a reply
 * without parsing messages.
 */
export type SagasuErrorCode =
  | 'UNSUPPORTED_FORMAT' // SVG, PDF, a non-image, or a format sharp cannot read
  | 'CORRUPT_IMAGE' // truncated or damaged bytes
  | 'EMPTY_INPUT' // zero bytes
  | 'TOO_LARGE' // pixel or byte limit exceeded (decompression bombs)
  | 'NOT_FOUND' // a file, record or path that does not exist
  | 'MODEL_MISMATCH' // an index built with another model or dimension
  | 'STORE_VERSION' // a data directory written by an incompatible version
  | 'INVALID_OPTION' // a bad option value
  | 'OCR_FAILED'
  | 'EMBED_FAILED'
  | 'VERIFY_FAILED' // local features could not be extracted or compared
  | 'TIMEOUT'
  | 'LOCKED'; // another process holds the data directory

export class SagasuError extends Error {
  readonly code: SagasuErrorCode;

  constructor(code: SagasuErrorCode, message: string, options?: { cause?: unknown }) {
    super(`sagasu: ${message}`, options);
    this.name = 'SagasuError';
    this.code = code;
  }
}

export function isSagasuError(error: unknown): error is SagasuError {
  return error instanceof SagasuError;
}
