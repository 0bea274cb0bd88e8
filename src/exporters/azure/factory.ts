import { z } from "zod";
import type { ComponentSettings } from "../../pipeline/component.js";
import { defineExporter } from "../../pipeline/define-exporter.js";
import { PermanentError, type RetryableError } from "../../pipeline/errors.js";
import { blobLayoutFields } from "../blob-settings.js";
import { ObjectStoreExporter, objectStoreFields } from "../object-store.js";
import { BearerAuthorizer, entraCredential, SasAuthorizer, SharedKeyAuthorizer, type BlobAuthorizer, type EntraSettings } from "./auth.js";
import { accountEndpoint, parseConnectionString } from "./connection-string.js";
import { classifyAzureError } from "./errors.js";
import { AzureBlobWriter } from "./put-blob.js";

/** Azure's container names: 3-63 lower-case letters, digits and single hyphens, starting and ending alphanumeric. */
const CONTAINER_NAME = /^(?=.{3,63}$)[a-z0-9]+(?:-[a-z0-9]+)*$/;
const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

const CREDENTIAL_KEYS = ["connection_string", "account_key", "sas_token", "entra_id"] as const;

export const azureBlobConfigSchema = z
  .strictObject({
    container: z
      .string()
      .regex(CONTAINER_NAME, "container names are 3-63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit")
      .describe("LANGFUSE_S3_EVENT_UPLOAD_BUCKET in Langfuse's Azure mode: the container's name (3-63 lower-case letters, digits and single hyphens). It is never created."),
    ...blobLayoutFields,
    endpoint: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe(
        "The Blob service URL (LANGFUSE_S3_EVENT_UPLOAD_ENDPOINT), for sovereign clouds, private endpoints or Azurite (`http://127.0.0.1:10000/devstoreaccount1`); default `https://<account_name>.blob.core.windows.net`.",
      ),
    account_name: z
      .string()
      .regex(ACCOUNT_NAME, "storage account names are 3-24 lower-case letters and digits")
      .optional()
      .describe("The storage account (LANGFUSE_S3_EVENT_UPLOAD_ACCESS_KEY_ID in Langfuse's Azure mode)."),
    account_key: z.string().min(1).optional().describe("Shared Key, base64 (LANGFUSE_S3_EVENT_UPLOAD_SECRET_ACCESS_KEY in Langfuse's Azure mode); with `account_name`."),
    sas_token: z
      .string()
      .min(1)
      .optional()
      .describe("A SAS token's query string (`sv=…&sig=…`) that may create and write in the container; with `account_name` or `endpoint`."),
    connection_string: z
      .string()
      .min(1)
      .optional()
      .describe(
        "`AccountName=…;AccountKey=…` (with `DefaultEndpointsProtocol`, `EndpointSuffix` or `BlobEndpoint`), `BlobEndpoint=…;SharedAccessSignature=…`, or `UseDevelopmentStorage=true`; in place of `endpoint` and `account_name`.",
      ),
    entra_id: z
      .strictObject({
        credential: z
          .enum(["workload_identity", "managed_identity", "default"])
          .default("workload_identity")
          .describe(
            "`workload_identity` (AKS, from AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE), `managed_identity` (a VM's, scale set's or node pool's) or `default` (DefaultAzureCredential's chain; AZURE_TOKEN_CREDENTIALS=prod keeps it to the non-developer credentials).",
          ),
        client_id: z
          .string()
          .min(1)
          .optional()
          .describe("Default: AZURE_CLIENT_ID (set by the AKS workload identity webhook); for a user-assigned managed identity, its client id."),
        tenant_id: z.string().min(1).optional().describe("Default: AZURE_TENANT_ID."),
        token_file: z.string().min(1).optional().describe("Default: AZURE_FEDERATED_TOKEN_FILE (workload identity only)."),
      })
      .optional()
      .describe(
        "Microsoft Entra ID through @azure/identity (loaded only then; its token is renewed in the background). The identity needs a data role such as Storage Blob Data Contributor; tokens go over https only.",
      ),
    ...objectStoreFields,
  })
  .superRefine((config, context) => {
    for (const problem of storageTarget(config).problems) context.addIssue({ code: "custom", path: problem.path, message: problem.message });
  })
  .describe(
    "Azure Blob Storage, for Langfuse in Azure mode (LANGFUSE_USE_AZURE_BLOB=true): the keys and bytes `s3` writes, as block blobs. Give exactly one way to authenticate: `account_key`, `sas_token`, `connection_string` or `entra_id`.",
  );

export type AzureBlobConfig = z.output<typeof azureBlobConfigSchema>;

type Credential = { kind: "shared_key"; accountName: string; accountKey: string } | { kind: "sas"; sas: string } | { kind: "entra_id"; settings: EntraSettings };

interface StorageTarget {
  endpoint: string;
  credential: Credential | undefined;
  problems: Array<{ path: string[]; message: string }>;
}

/**
 * Where to write and with what, from the config; `problems` say what is missing or clashes (shown
 * by `validate` with the line). Messages never repeat a credential's value.
 */
function storageTarget(config: AzureBlobConfig): StorageTarget {
  const problems: StorageTarget["problems"] = [];
  const given = CREDENTIAL_KEYS.filter((key) => config[key] !== undefined);
  if (given.length !== 1) {
    problems.push({
      path: given.length === 0 ? [] : [given[1]!],
      message: `give exactly one way to authenticate: connection_string, account_key (with account_name), sas_token or entra_id${given.length > 1 ? ` (got ${given.join(", ")})` : ""}`,
    });
  }
  if (config.endpoint !== undefined) {
    const url = new URL(config.endpoint);
    if (url.search !== "" || url.hash !== "") problems.push({ path: ["endpoint"], message: "the endpoint must not have a query: give a SAS token as sas_token" });
  }
  let endpoint = config.endpoint ?? (config.account_name === undefined ? undefined : accountEndpoint(config.account_name));
  let credential: Credential | undefined;

  if (config.connection_string !== undefined) {
    for (const key of ["endpoint", "account_name"] as const) {
      if (config[key] !== undefined) problems.push({ path: [key], message: `the connection string already names the account and its endpoint: remove ${key}` });
    }
    try {
      const connection = parseConnectionString(config.connection_string);
      endpoint = connection.endpoint;
      credential = connection.accountKey !== undefined ? { kind: "shared_key", accountName: connection.accountName!, accountKey: connection.accountKey } : { kind: "sas", sas: connection.sas! };
      if (!URL.canParse(endpoint) || !/^https?:$/.test(new URL(endpoint).protocol)) problems.push({ path: ["connection_string"], message: "the connection string's BlobEndpoint is not an http(s) URL" });
      else if (new URL(endpoint).search !== "") problems.push({ path: ["connection_string"], message: "the connection string's BlobEndpoint must not have a query: give the SAS as SharedAccessSignature" });
    } catch (error) {
      problems.push({ path: ["connection_string"], message: (error as Error).message });
    }
  } else if (config.account_key !== undefined) {
    if (config.account_name === undefined) problems.push({ path: ["account_name"], message: "account_key needs account_name" });
    if (!BASE64.test(config.account_key)) problems.push({ path: ["account_key"], message: "account_key is not an account key: Azure shows it in base64" });
    credential = { kind: "shared_key", accountName: config.account_name ?? "", accountKey: config.account_key };
  } else if (config.sas_token !== undefined) {
    if (!/(?:^\??|&)sig=/.test(config.sas_token)) problems.push({ path: ["sas_token"], message: "sas_token has no sig= parameter: give the token's query string (sv=…&sig=…)" });
    credential = { kind: "sas", sas: config.sas_token };
  } else if (config.entra_id !== undefined) {
    const entra = config.entra_id;
    if (entra.token_file !== undefined && entra.credential !== "workload_identity") problems.push({ path: ["entra_id", "token_file"], message: "token_file is for credential: workload_identity" });
    if (entra.tenant_id !== undefined && entra.credential === "managed_identity") problems.push({ path: ["entra_id", "tenant_id"], message: "a managed identity has its own tenant: remove tenant_id" });
    if (endpoint !== undefined && endpoint.startsWith("http:")) {
      problems.push({ path: ["endpoint"], message: "Entra ID tokens are sent over https only (as the Azure SDK does): use an https endpoint" });
    }
    credential = { kind: "entra_id", settings: entra };
  }
  if (endpoint === undefined && given.length === 1 && config.connection_string === undefined) {
    problems.push({ path: ["account_name"], message: "give account_name (for https://<account>.blob.core.windows.net) or endpoint" });
  }
  return { endpoint: endpoint ?? "", credential, problems };
}

async function authorizerFor(credential: Credential): Promise<BlobAuthorizer> {
  switch (credential.kind) {
    case "shared_key":
      return new SharedKeyAuthorizer(credential.accountName, credential.accountKey);
    case "sas":
      return new SasAuthorizer(credential.sas);
    case "entra_id":
      return new BearerAuthorizer(await entraCredential(credential.settings));
  }
}

class AzureBlobExporter extends ObjectStoreExporter<AzureBlobConfig> {
  readonly #settings: ComponentSettings;
  readonly #where: { container: string; endpoint: string };
  readonly #credential: Credential;
  #writer: AzureBlobWriter | undefined;
  #stopped = false;

  constructor(settings: ComponentSettings, config: AzureBlobConfig) {
    super(config);
    this.#settings = settings;
    const target = storageTarget(config);
    if (target.problems.length > 0 || target.credential === undefined) throw new Error(`azure_blob config: ${target.problems.map((problem) => problem.message).join("; ")}`);
    this.#where = { container: config.container, endpoint: target.endpoint };
    this.#credential = target.credential;
  }

  async start(): Promise<void> {
    const config = this.config;
    this.#writer = new AzureBlobWriter({
      endpoint: this.#where.endpoint,
      container: config.container,
      authorizer: await authorizerFor(this.#credential),
      maxSockets: config.max_sockets,
      connectTimeoutMs: config.connect_timeout,
      requestTimeoutMs: config.request_timeout,
    });
    this.#settings.logger.debug({ ...this.#where, credential: this.#credential.kind }, "azure_blob exporter started");
    // Not awaited: an unreachable store must not hold the start (the spool keeps the data meanwhile).
    void this.#checkContainer(this.#writer);
  }

  /** Says at start whether the container can be reached, and if not, what to fix. */
  async #checkContainer(writer: AzureBlobWriter): Promise<void> {
    const logger = this.#settings.logger;
    try {
      await writer.checkContainer();
      logger.info({ ...this.#where, credential: this.#credential.kind }, "azure_blob: container reachable");
    } catch (error) {
      if (this.#stopped) return;
      const classified = this.classify(error);
      const status = (error as { status?: number }).status;
      if (this.#credential.kind === "sas" && status === 403 && !/AuthenticationFailed/.test(classified.message)) {
        // A SAS token that may create and write blobs but not read the container's properties.
        logger.warn({ ...this.#where, reason: classified.message }, "azure_blob: could not check the container at start (a SAS token without read permission cannot); the first export will tell");
      } else if (classified instanceof PermanentError) {
        logger.error({ ...this.#where, reason: classified.message }, "azure_blob: the container cannot be written; exports will be dead-lettered until this is fixed");
      } else {
        logger.warn({ ...this.#where, reason: classified.message }, "azure_blob: container not reachable at start; data waits in the spool until it is");
      }
    }
  }

  async shutdown(): Promise<void> {
    this.#stopped = true;
    await this.#writer?.close();
    this.#writer = undefined;
  }

  protected async putObject(key: string, body: Buffer): Promise<void> {
    const writer = this.#writer;
    if (writer === undefined) throw new Error("azure_blob exporter used before start");
    await writer.put(key, body, "application/json");
  }

  protected classify(error: unknown): RetryableError | PermanentError {
    return classifyAzureError(error, this.config.retry_after, this.#where);
  }
}

export const azureBlobExporterFactory = defineExporter({
  type: "azure_blob",
  role: "blob",
  configSchema: azureBlobConfigSchema,
  setup: (settings, config) => new AzureBlobExporter(settings, config),
  events: (request, azure) => azure.exportGroups(request),
  spans: (request, azure) => azure.exportGroups(request),
});
