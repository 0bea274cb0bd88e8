import { SharedKeySigner, type SignableBlobRequest } from "./shared-key.js";

/**
 * How a Blob request is authorised, one per credential kind the azure_blob exporter takes:
 * Shared Key (account key, or a connection string with one), a SAS token, or a Microsoft Entra ID
 * bearer token (workload identity, managed identity, or the default chain of @azure/identity).
 */
export interface BlobAuthorizer {
  /** Adds the authorisation to `request.headers` and returns the path to send (a SAS goes in its query). */
  authorize(request: SignableBlobRequest & { headers: Record<string, string> }): string | Promise<string>;
}

export class SharedKeyAuthorizer implements BlobAuthorizer {
  readonly #signer: SharedKeySigner;

  constructor(accountName: string, accountKey: string) {
    this.#signer = new SharedKeySigner(accountName, accountKey);
  }

  authorize(request: SignableBlobRequest & { headers: Record<string, string> }): string {
    request.headers.authorization = this.#signer.authorization(request);
    return request.path;
  }
}

export class SasAuthorizer implements BlobAuthorizer {
  readonly #query: string;

  /** `sas`: the token's query string, with or without its leading `?`. */
  constructor(sas: string) {
    this.#query = sas.replace(/^\?/, "");
  }

  authorize(request: SignableBlobRequest): string {
    return `${request.path}${request.path.includes("?") ? "&" : "?"}${this.#query}`;
  }
}

/** The part of @azure/identity's TokenCredential this exporter uses. */
export interface TokenSource {
  getToken(scope: string): Promise<{ token: string; expiresOnTimestamp: number; refreshAfterTimestamp?: number } | null>;
}

/** The token audience of Azure Storage. */
export const STORAGE_SCOPE = "https://storage.azure.com/.default";

/** A failure to get a token, kept apart from the store's answers so it is classified on its own. */
export class EntraTokenError extends Error {
  constructor(
    readonly credentialError: { name?: string; message?: string; statusCode?: number },
    options: { cause: unknown },
  ) {
    // @azure/identity's messages run over several lines; a log line keeps them on one.
    super(`${credentialError.name ?? "Error"}: ${credentialError.message ?? String(options.cause)}`.replace(/\s*\n\s*/g, " "), options);
    this.name = "EntraTokenError";
  }
}

/**
 * A bearer token kept between PUTs: @azure/identity's credentials would otherwise be asked once
 * per PUT. Renewed in the background from the credential's refresh time (or 2 minutes before it
 * expires) while the old one still works; only a missing or expired token makes PUTs wait.
 */
export class BearerAuthorizer implements BlobAuthorizer {
  #token: { value: string; refreshAt: number; expiresAt: number } | undefined;
  #renewal: Promise<string> | undefined;

  constructor(
    private readonly credential: TokenSource,
    private readonly now: () => number = Date.now,
  ) {}

  async #renew(): Promise<string> {
    this.#renewal ??= (async () => {
      try {
        const token = await this.credential.getToken(STORAGE_SCOPE).catch((error: unknown) => {
          throw new EntraTokenError(error as { name?: string; message?: string; statusCode?: number }, { cause: error });
        });
        if (token === null) throw new EntraTokenError({ name: "CredentialUnavailableError", message: "the credential returned no token" }, { cause: undefined });
        const expiresAt = token.expiresOnTimestamp;
        this.#token = { value: token.token, expiresAt, refreshAt: token.refreshAfterTimestamp ?? expiresAt - 120_000 };
        return token.token;
      } finally {
        this.#renewal = undefined;
      }
    })();
    return this.#renewal;
  }

  /** The current token: renewed in the background once due, awaited only when it is missing or about to expire. */
  async token(): Promise<string> {
    const token = this.#token;
    const now = this.now();
    if (token === undefined || now >= token.expiresAt - 30_000) return this.#renew();
    if (now >= token.refreshAt && this.#renewal === undefined) {
      // The next PUT that finds it due tries again; until expiry the current token serves.
      this.#renew().catch(() => {});
    }
    return token.value;
  }

  async authorize(request: SignableBlobRequest & { headers: Record<string, string> }): Promise<string> {
    request.headers.authorization = `Bearer ${await this.token()}`;
    return request.path;
  }
}

export type EntraCredentialKind = "workload_identity" | "managed_identity" | "default";

export interface EntraSettings {
  credential: EntraCredentialKind;
  client_id?: string | undefined;
  tenant_id?: string | undefined;
  token_file?: string | undefined;
}

/**
 * The @azure/identity credential for the settings, loaded only when configured (it and MSAL are
 * several MB of code a key-based setup never needs). Values not given come from the environment
 * the Kubernetes webhooks inject (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE).
 */
export async function entraCredential(settings: EntraSettings): Promise<TokenSource> {
  const identity = await import("@azure/identity");
  try {
    switch (settings.credential) {
      case "workload_identity":
        return new identity.WorkloadIdentityCredential({ clientId: settings.client_id, tenantId: settings.tenant_id, tokenFilePath: settings.token_file });
      case "managed_identity":
        return settings.client_id === undefined ? new identity.ManagedIdentityCredential() : new identity.ManagedIdentityCredential({ clientId: settings.client_id });
      case "default":
        return new identity.DefaultAzureCredential({ tenantId: settings.tenant_id, managedIdentityClientId: settings.client_id, workloadIdentityClientId: settings.client_id });
    }
  } catch (error) {
    // A credential without what it needs (no AZURE_CLIENT_ID, no token file) refuses at once; the
    // daemon still starts, and says so where every token failure is said: at the start-up check and
    // in each export's error.
    return { getToken: () => Promise.reject(error) };
  }
}
