import { isPipelineError, type OverloadedError, type RetryableError } from "../pipeline/errors.js";

/** gRPC status codes used at the edge (google.rpc.Code). */
export const GrpcCode = {
  OK: 0,
  INVALID_ARGUMENT: 3,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

export interface EdgeStatus {
  http: number;
  grpc: number;
  message: string;
  /** Set for retryable refusals: HTTP Retry-After, gRPC RetryInfo. */
  retryAfterMs?: number;
  /** Whether the error is a bug or unknown failure that should be logged at error level. */
  unexpected: boolean;
}

/**
 * The one place where an error's intent becomes a protocol status, following the OTLP
 * specification's failure table: only retryable refusals invite the client to try again.
 */
export function edgeStatus(error: unknown): EdgeStatus {
  if (!isPipelineError(error)) {
    return { http: 500, grpc: GrpcCode.INTERNAL, message: "internal error", unexpected: true };
  }
  switch (error.intent) {
    case "invalid":
      return { http: 400, grpc: GrpcCode.INVALID_ARGUMENT, message: error.message, unexpected: false };
    case "unauthenticated":
      return { http: 401, grpc: GrpcCode.UNAUTHENTICATED, message: error.message, unexpected: false };
    case "forbidden":
      return { http: 403, grpc: GrpcCode.PERMISSION_DENIED, message: error.message, unexpected: false };
    case "too_large":
      return { http: 413, grpc: GrpcCode.RESOURCE_EXHAUSTED, message: error.message, unexpected: false };
    case "retryable":
      return {
        http: 503,
        grpc: GrpcCode.UNAVAILABLE,
        message: error.message,
        retryAfterMs: (error as RetryableError).retryAfterMs,
        unexpected: false,
      };
    case "overloaded":
      // RESOURCE_EXHAUSTED is retryable for OTLP clients only with RetryInfo, which is always sent.
      return {
        http: 429,
        grpc: GrpcCode.RESOURCE_EXHAUSTED,
        message: error.message,
        retryAfterMs: (error as OverloadedError).retryAfterMs,
        unexpected: false,
      };
    case "permanent":
      return { http: 500, grpc: GrpcCode.INTERNAL, message: error.message, unexpected: false };
  }
}

/** `Retry-After` takes whole seconds; round up so clients never come back too early. */
export function retryAfterSeconds(retryAfterMs: number): string {
  return String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
}
