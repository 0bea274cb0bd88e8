/**
 * Errors typed by intent, not by transport. Components throw these; only the receivers turn them
 * into HTTP status codes or gRPC codes (see receivers/edge-status.ts), so a processor or exporter
 * never needs to know which protocol the data came in on.
 */
export type ErrorIntent =
  | "invalid" // the client sent data that can never be accepted: do not retry
  | "unauthenticated" // credentials missing or wrong
  | "forbidden" // credentials fine, but not allowed to do this
  | "too_large" // the request exceeds a configured size limit: do not retry as is
  | "retryable" // a backend is unavailable: the same request may succeed later
  | "overloaded" // the daemon itself is full (spool or memory budget): come back later
  | "permanent"; // a backend refused the data for good (e.g. S3 403): retrying will not help

export abstract class PipelineError extends Error {
  abstract readonly intent: ErrorIntent;
}

export class InvalidDataError extends PipelineError {
  readonly intent = "invalid";
}

export class UnauthenticatedError extends PipelineError {
  readonly intent = "unauthenticated";
}

export class ForbiddenError extends PipelineError {
  readonly intent = "forbidden";
}

export class PayloadTooLargeError extends PipelineError {
  readonly intent = "too_large";
  constructor(readonly limitBytes: number) {
    super(`request body exceeds the limit of ${limitBytes} bytes`);
  }
}

/** Transient failure; `retryAfterMs` is the hint sent to clients (Retry-After / RetryInfo). */
export class RetryableError extends PipelineError {
  readonly intent = "retryable";
  constructor(
    message: string,
    readonly retryAfterMs: number = 1000,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The daemon refuses new data to protect itself; clients retry after `retryAfterMs`. */
export class OverloadedError extends PipelineError {
  readonly intent = "overloaded";
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

export class PermanentError extends PipelineError {
  readonly intent = "permanent";
}

export function isPipelineError(error: unknown): error is PipelineError {
  return error instanceof PipelineError;
}
