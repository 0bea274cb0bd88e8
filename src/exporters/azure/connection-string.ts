/**
 * Azure Storage connection strings (`Key=Value;…`, as the portal and `az storage account
 * show-connection-string` give them), reduced to what a Blob client needs. Parse errors name the
 * missing or unknown parts, never a value: the string holds a secret.
 */

/** Azurite's fixed development account and its published key (not a secret). */
export const DEVELOPMENT_ACCOUNT = "devstoreaccount1";
export const DEVELOPMENT_ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface StorageConnection {
  /** The Blob service URL (`https://<account>.blob.core.windows.net`, or with a path for emulators). */
  endpoint: string;
  accountName: string | undefined;
  /** Shared Key, base64. */
  accountKey: string | undefined;
  /** SAS query string without `?`. */
  sas: string | undefined;
}

/** The public cloud's Blob endpoint of an account. */
export function accountEndpoint(accountName: string, protocol = "https", suffix = "core.windows.net"): string {
  return `${protocol}://${accountName}.blob.${suffix}`;
}

export function parseConnectionString(text: string): StorageConnection {
  const fields = new Map<string, string>();
  for (const part of text.split(";")) {
    if (part.trim() === "") continue;
    const equals = part.indexOf("=");
    if (equals <= 0) throw new Error("a connection string is Key=Value pairs separated by ';'");
    // Keys are case-insensitive in Azure's parsers; values (keys end in `==`) keep every `=`.
    fields.set(part.slice(0, equals).trim().toLowerCase(), part.slice(equals + 1).trim());
  }
  if (fields.get("usedevelopmentstorage")?.toLowerCase() === "true") {
    // Azurite's defaults; a DevelopmentStorageProxyUri is not supported.
    if (fields.has("developmentstorageproxyuri")) throw new Error("DevelopmentStorageProxyUri is not supported; give BlobEndpoint, AccountName and AccountKey instead");
    return { endpoint: `http://127.0.0.1:10000/${DEVELOPMENT_ACCOUNT}`, accountName: DEVELOPMENT_ACCOUNT, accountKey: DEVELOPMENT_ACCOUNT_KEY, sas: undefined };
  }
  const accountName = fields.get("accountname") || undefined;
  const accountKey = fields.get("accountkey") || undefined;
  const sas = fields.get("sharedaccesssignature")?.replace(/^\?/, "") || undefined;
  if (accountKey === undefined && sas === undefined) throw new Error("the connection string has neither AccountKey nor SharedAccessSignature");
  if (accountKey !== undefined && accountName === undefined) throw new Error("the connection string has an AccountKey but no AccountName");
  const blobEndpoint = fields.get("blobendpoint") || undefined;
  let endpoint: string;
  if (blobEndpoint !== undefined) {
    endpoint = blobEndpoint;
  } else if (accountName !== undefined) {
    endpoint = accountEndpoint(accountName, fields.get("defaultendpointsprotocol") || "https", fields.get("endpointsuffix") || "core.windows.net");
  } else {
    throw new Error("the connection string has neither BlobEndpoint nor AccountName");
  }
  return { endpoint, accountName, accountKey, sas };
}
