// One error type with stable codes, and the one table mapping each code to an HTTP status.

/** Every code Beacon may raise on purpose. Stable: clients and logs rely on them. */
export const errorCodes = {
  VALIDATION: 400,
  /** A framework-level client error: a body that is not JSON, a bad Content-Length. */
  BAD_REQUEST: 400,
  BAD_TRACKING_REQUEST: 400,
  UNAUTHORIZED: 401,
  INVALID_SIGNATURE: 403,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  DATABASE_UNAVAILABLE: 503,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof errorCodes;

export interface AppErrorOptions {
  /** What a client may see; defaults to the message. */
  userMessage?: string;
  /** The field at fault, for validation errors. */
  field?: string;
  cause?: unknown;
}

/** An expected failure: `message` is for logs, `userMessage` for the client. */
export class AppError extends Error {
  readonly userMessage: string;
  readonly field: string | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: AppErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.userMessage = options.userMessage ?? message;
    this.field = options.field;
  }

  get status(): number {
    return errorCodes[this.code];
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
