import { PermanentError, RetryableError } from "../../pipeline/errors.js";
import { EntraTokenError } from "./auth.js";
import { AzureResponseError } from "./put-blob.js";

/** The Blob service's answers that mean "busy, try again": its throttling and timeout codes. */
const TRANSIENT_CODES = new Set(["ServerBusy", "OperationTimedOut", "InternalError"]);

/** What to check for each refusal of the credentials, by the service's error code. */
const CREDENTIAL_HINTS: Record<string, string> = {
  AuthenticationFailed: "check the account name and key, the SAS token (signature, start and expiry), and the clock (Azure refuses requests more than 15 minutes off)",
  InvalidAuthenticationInfo: "check the Entra ID token's tenant and audience, or the credentials given",
  NoAuthenticationInformation: "give credentials: connection_string, account_key, sas_token or entra_id",
  AuthorizationFailure: "check the credentials (Azurite answers a wrong key this way), the SAS token's permissions (it needs create and write) and the account's network rules (firewall, private endpoint)",
  AuthorizationPermissionMismatch: "the identity or SAS token lacks a permission: an Entra ID identity needs a data role such as Storage Blob Data Contributor on the account or container",
  AuthorizationResourceTypeMismatch: "the SAS token is not for blobs or objects: give a container or account SAS that allows objects",
  KeyBasedAuthenticationNotPermitted: "the account forbids Shared Key: use entra_id or a user delegation SAS token",
};

/**
 * OAuth 2.0 error codes with which Entra ID refuses a token request for good (an unknown
 * application, no federated credential matching the token, a bad assertion); @azure/identity puts
 * them first in its message. `temporarily_unavailable` and `server_error` are not among them.
 */
const REFUSED_TOKEN_REQUEST = /^(invalid_request|invalid_client|invalid_grant|unauthorized_client|unsupported_grant_type|invalid_scope|invalid_resource|access_denied)\b/;

/** Why a token could not be had, and whether waiting may help. */
function classifyTokenError(error: EntraTokenError, retryAfterMs: number): RetryableError | PermanentError {
  const { name, statusCode, message: credentialMessage } = error.credentialError;
  const message = `Azure Entra ID token: ${error.message}`;
  // No credential in this environment (no token file, no managed identity), or Entra ID refused
  // the identity: a configuration problem, not an outage. Network failures and Entra ID's own
  // outages may pass.
  const refused =
    name === "CredentialUnavailableError" ||
    (statusCode !== undefined && statusCode >= 400 && statusCode < 500 && statusCode !== 408 && statusCode !== 429) ||
    REFUSED_TOKEN_REQUEST.test(credentialMessage ?? "");
  return refused ? new PermanentError(`${message} (fix the identity's configuration)`, { cause: error }) : new RetryableError(message, retryAfterMs, { cause: error });
}

/**
 * Blob service failures by intent, like S3's: no answer (network, timeouts), 5xx, 408, 429 and the
 * throttling codes (503 ServerBusy, 500 OperationTimedOut) may pass if tried again, through the
 * spool; refused credentials, a missing container and other 4xx will not, and say what to fix.
 */
export function classifyAzureError(error: unknown, retryAfterMs: number, where: { container: string; endpoint: string }): RetryableError | PermanentError {
  if (error instanceof EntraTokenError) return classifyTokenError(error, retryAfterMs);
  if (!(error instanceof AzureResponseError)) {
    const network = error as { code?: string; message?: string };
    return new RetryableError(`Azure Blob Storage at ${where.endpoint} not reachable: ${network.code ? `${network.code} ` : ""}${network.message ?? String(error)}`, retryAfterMs, { cause: error });
  }
  const { code, status } = error;
  const answer = `Azure ${code} (HTTP ${status}): ${error.message}`;
  if (status >= 500 || status === 408 || status === 429 || TRANSIENT_CODES.has(code)) return new RetryableError(answer, retryAfterMs, { cause: error });
  if (code === "ContainerNotFound") {
    return new PermanentError(`${answer}; container "${where.container}" does not exist at ${where.endpoint}: create it (the exporter does not create containers)`, { cause: error });
  }
  const hint = CREDENTIAL_HINTS[code] ?? (status === 401 || status === 403 ? "Azure refused the credentials" : undefined);
  return new PermanentError(hint === undefined ? answer : `${answer}; ${hint}`, { cause: error });
}
