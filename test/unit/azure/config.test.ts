import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../../src/logging.js";
import { azureBlobConfigSchema } from "../../../src/exporters/azure/factory.js";
import { DEVELOPMENT_ACCOUNT_KEY, parseConnectionString } from "../../../src/exporters/azure/connection-string.js";
import { classifyAzureError } from "../../../src/exporters/azure/errors.js";
import { EntraTokenError } from "../../../src/exporters/azure/auth.js";
import { AzureResponseError } from "../../../src/exporters/azure/put-blob.js";
import { PermanentError, RetryableError } from "../../../src/pipeline/errors.js";

const KEY = DEVELOPMENT_ACCOUNT_KEY;
const SECRET_SAS = "sv=2025-11-05&sr=c&sp=cw&se=2030-01-01T00%3A00%3A00Z&sig=c2VjcmV0LXNpZ25hdHVyZQ%3D%3D";

/** The schema's messages for a config, as `validate` would list them. */
function problems(config: Record<string, unknown>): string[] {
  const result = azureBlobConfigSchema.safeParse({ container: "langfuse", ...config });
  return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
}

describe("azure_blob config", () => {
  it("takes each way to authenticate, with the defaults of the s3 exporter's shared settings", () => {
    const parsed = azureBlobConfigSchema.parse({ container: "langfuse", account_name: "acct", account_key: KEY });
    expect(parsed).toMatchObject({ prefix: "", max_sockets: 64, max_attempts: 3, retry_after: 5000, request_timeout: 30_000, max_segment_bytes: 2048 });
    expect(problems({ connection_string: `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${KEY};EndpointSuffix=core.windows.net` })).toEqual([]);
    expect(problems({ account_name: "acct", sas_token: `?${SECRET_SAS}` })).toEqual([]);
    expect(problems({ endpoint: "https://acct.blob.core.windows.net", entra_id: {} })).toEqual([]);
    expect(azureBlobConfigSchema.parse({ container: "langfuse", account_name: "acct", entra_id: {} }).entra_id).toEqual({ credential: "workload_identity" });
  });

  it("refuses configs that cannot work, saying what to change, and never repeats a secret", () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ account_name: "acct" }, ": give exactly one way to authenticate"],
      [{ account_name: "acct", account_key: KEY, sas_token: SECRET_SAS }, "sas_token: give exactly one way to authenticate: connection_string, account_key (with account_name), sas_token or entra_id (got account_key, sas_token)"],
      [{ account_key: KEY }, "account_name: account_key needs account_name"],
      [{ account_name: "acct", account_key: "not base64!" }, "account_key: account_key is not an account key"],
      [{ account_name: "acct", sas_token: "sv=2025-11-05&sp=cw" }, "sas_token: sas_token has no sig= parameter"],
      [{ sas_token: SECRET_SAS }, "account_name: give account_name (for https://<account>.blob.core.windows.net) or endpoint"],
      [{ endpoint: "http://127.0.0.1:10000/devstoreaccount1", entra_id: { credential: "managed_identity" } }, "endpoint: Entra ID tokens are sent over https only"],
      [{ account_name: "acct", entra_id: { credential: "default", token_file: "/t" } }, "entra_id.token_file: token_file is for credential: workload_identity"],
      [{ endpoint: `https://acct.blob.core.windows.net/?${SECRET_SAS}`, sas_token: SECRET_SAS }, "endpoint: the endpoint must not have a query"],
      [{ connection_string: `AccountName=acct;AccountKey=${KEY}`, account_name: "acct" }, "account_name: the connection string already names the account"],
      [{ connection_string: `AccountName=acct;Password=${KEY}` }, "connection_string: the connection string has neither AccountKey nor SharedAccessSignature"],
      [{ connection_string: "just-a-secret-value" }, "connection_string: a connection string is Key=Value pairs"],
      [{ account_name: "Acct_1", account_key: KEY }, "account_name: storage account names are 3-24 lower-case letters and digits"],
    ];
    for (const [config, expected] of cases) {
      const found = problems(config);
      expect(found.some((problem) => problem.startsWith(expected)), `${JSON.stringify(config)} → ${found.join(" | ")}`).toBe(true);
      const text = found.join("\n");
      expect(text).not.toContain(KEY);
      expect(text).not.toContain("c2VjcmV0");
      expect(text).not.toContain("just-a-secret-value");
    }
    expect(problems({ container: "Langfuse_Events", account_name: "acct", account_key: KEY })[0]).toMatch(/^container: container names are 3-63 lower-case/);
  });
});

describe("connection strings", () => {
  it("reads the portal's form, an explicit BlobEndpoint, a SAS one, and UseDevelopmentStorage", () => {
    expect(parseConnectionString(`DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${KEY};EndpointSuffix=core.chinacloudapi.cn`)).toEqual({
      endpoint: "https://acct.blob.core.chinacloudapi.cn",
      accountName: "acct",
      accountKey: KEY,
      sas: undefined,
    });
    expect(parseConnectionString(`accountname=devstoreaccount1;accountkey=${KEY};blobendpoint=http://127.0.0.1:10000/devstoreaccount1;`)).toMatchObject({ endpoint: "http://127.0.0.1:10000/devstoreaccount1", accountName: "devstoreaccount1" });
    expect(parseConnectionString(`BlobEndpoint=https://acct.blob.core.windows.net;SharedAccessSignature=?${SECRET_SAS}`)).toEqual({ endpoint: "https://acct.blob.core.windows.net", accountName: undefined, accountKey: undefined, sas: SECRET_SAS });
    expect(parseConnectionString("UseDevelopmentStorage=true")).toEqual({ endpoint: "http://127.0.0.1:10000/devstoreaccount1", accountName: "devstoreaccount1", accountKey: KEY, sas: undefined });
  });
});

describe("Azure error classification", () => {
  const where = { container: "langfuse", endpoint: "https://acct.blob.core.windows.net" };
  const answer = (code: string, status: number) => new AzureResponseError(code, `${code} message RequestId:r`, status);

  it.each([
    ["a network error", Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" })],
    ["503 ServerBusy", answer("ServerBusy", 503)],
    ["500 OperationTimedOut", answer("OperationTimedOut", 500)],
    ["500 InternalError", answer("InternalError", 500)],
    ["429", answer("Http429", 429)],
    ["a token service that is down", new EntraTokenError({ name: "AuthenticationError", statusCode: 503, message: "unavailable" }, { cause: undefined })],
    ["a token request that failed on the network", new EntraTokenError({ name: "AuthenticationRequiredError", message: "network_error: Network request failed" }, { cause: undefined })],
    ["Entra ID busy", new EntraTokenError({ name: "AuthenticationRequiredError", message: "temporarily_unavailable: Error(s): 50196 - Description: AADSTS50196: The server terminated an operation" }, { cause: undefined })],
  ])("treats %s as retryable", (_name, error) => {
    const classified = classifyAzureError(error, 5000, where);
    expect(classified).toBeInstanceOf(RetryableError);
    expect((classified as RetryableError).retryAfterMs).toBe(5000);
  });

  it.each([
    ["a missing container", answer("ContainerNotFound", 404), 'container "langfuse" does not exist at https://acct.blob.core.windows.net: create it'],
    ["a wrong key or expired SAS", answer("AuthenticationFailed", 403), "check the account name and key, the SAS token"],
    ["an identity without a data role", answer("AuthorizationPermissionMismatch", 403), "Storage Blob Data Contributor"],
    ["an account without Shared Key", answer("KeyBasedAuthenticationNotPermitted", 403), "use entra_id"],
    ["a refusal by the network rules", answer("AuthorizationFailure", 403), "network rules"],
    ["a body too large", answer("RequestBodyTooLarge", 413), "Azure RequestBodyTooLarge (HTTP 413)"],
    ["no credential in the environment", new EntraTokenError({ name: "CredentialUnavailableError", message: "WorkloadIdentityCredential: tenantId, clientId, and federatedTokenFilePath are required" }, { cause: undefined }), "fix the identity's configuration"],
    ["an identity Entra ID refuses", new EntraTokenError({ name: "AuthenticationError", statusCode: 400, message: "AADSTS700016: application not found" }, { cause: undefined }), "AADSTS700016"],
    // As @azure/identity 4.13 reports an unknown application (measured against a stand-in for Entra ID).
    [
      "an unknown application, as @azure/identity reports it",
      new EntraTokenError({ name: "AuthenticationRequiredError", message: "unauthorized_client: Error(s): 700016 - Timestamp: Not Available - Description: AADSTS700016: Application with identifier 'x' was not found - Correlation ID: Not Available" }, { cause: undefined }),
      "AADSTS700016",
    ],
    ["a federated token without a matching federated credential", new EntraTokenError({ name: "AuthenticationRequiredError", message: "invalid_client: AADSTS70021: No matching federated identity record found for presented assertion." }, { cause: undefined }), "AADSTS70021"],
  ])("treats %s as permanent, saying what to fix", (_name, error, hint) => {
    const classified = classifyAzureError(error, 5000, where);
    expect(classified).toBeInstanceOf(PermanentError);
    expect(classified.message).toContain(hint);
  });
});

describe("azure_blob secrets in logs", () => {
  it("are redacted should a config be logged, at the top or one level down", () => {
    const written: string[] = [];
    const stream = new Writable({ write: (chunk: Buffer, _encoding, done) => (written.push(chunk.toString()), done()) });
    const logger = createLogger({ level: "info", format: "json" }, stream);
    const config = { account_key: KEY, sas_token: SECRET_SAS, connection_string: `AccountName=a;AccountKey=${KEY}` };
    logger.info(config, "top");
    logger.info({ exporter: config }, "nested");
    const text = written.join("");
    expect(text).toContain('"account_key":"[redacted]"');
    for (const secret of [KEY, "c2VjcmV0", "AccountKey="]) expect(text).not.toContain(secret);
  });
});
