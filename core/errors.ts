/**
 * The closed list of error codes and their HTTP status: the one place they are mapped.
 * Identified by `code` (not instanceof) so they survive Jest and Temporal realms.
 */
export const ERROR_STATUS = {
  MISSING_FIELDS: 400,
  VALIDATION_FAILED: 400,
  TEMPLATE_NOT_CONFIGURED: 400,
  UNAUTHORIZED: 401,
  ENTITY_NOT_FOUND: 404,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  IDEMPOTENCY_CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  IDEMPOTENCY_KEY_REUSED: 422,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export const ERROR_CODES = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];

export interface ErrorDetail {
  field?: string;
  index?: number;
  reason: string;
}

export interface ApiErrorOptions {
  code: ErrorCode;
  message: string;
  details?: ErrorDetail[];
  /** Extra envelope fields, e.g. `resetAt` for RATE_LIMITED. */
  extra?: Record<string, unknown>;
  headers?: Record<string, string>;
  cause?: unknown;
}

export class ApiError extends Error {
  readonly isApiError = true;
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: ErrorDetail[];
  readonly extra?: Record<string, unknown>;
  readonly headers?: Record<string, string>;

  constructor(opts: ApiErrorOptions) {
    super(opts.message, { cause: opts.cause });
    this.name = 'ApiError';
    this.code = opts.code;
    this.status = ERROR_STATUS[opts.code];
    this.details = opts.details;
    this.extra = opts.extra;
    this.headers = opts.headers;
  }
}

export function isApiError(err: unknown): err is ApiError {
  return (
    typeof err === 'object' &&
    err !== null &&
    (err as { isApiError?: unknown }).isApiError === true &&
    typeof (err as { code?: unknown }).code === 'string' &&
    (err as { code: string }).code in ERROR_STATUS
  );
}

export const apiError = (opts: ApiErrorOptions): ApiError => new ApiError(opts);
