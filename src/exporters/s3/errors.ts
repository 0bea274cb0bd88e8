import { PermanentError, RetryableError } from "../../pipeline/errors.js";

const THROTTLING = new Set(["SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "RequestTimeTooSkewed", "ServiceUnavailable", "InternalError"]);

interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * S3 failures by intent: no answer (network), 5xx, 408, 429 and S3's throttling codes may pass
 * if tried again; any other 4xx (AccessDenied, NoSuchBucket, InvalidAccessKeyId, ...) will not.
 */
export function classifyS3Error(error: unknown, retryAfterMs: number): RetryableError | PermanentError {
  const sdk = (error ?? {}) as SdkError;
  const status = sdk.$metadata?.httpStatusCode;
  const name = sdk.name ?? sdk.code ?? "Error";
  const message = `S3 ${name}${status ? ` (HTTP ${status})` : ""}: ${sdk.message ?? String(error)}`;
  const retryable = status === undefined || status >= 500 || status === 408 || status === 429 || THROTTLING.has(name);
  return retryable ? new RetryableError(message, retryAfterMs, { cause: error }) : new PermanentError(message, { cause: error });
}
