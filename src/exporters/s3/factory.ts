import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { z } from "zod";
import { flag } from "../../config/units.js";
import type { ComponentSettings } from "../../pipeline/component.js";
import { defineExporter } from "../../pipeline/define-exporter.js";
import type { PermanentError, RetryableError } from "../../pipeline/errors.js";
import { blobLayoutFields } from "../blob-settings.js";
import { ObjectStoreExporter, objectStoreFields } from "../object-store.js";
import { classifyS3Error } from "./errors.js";
import { S3ObjectWriter } from "./put-object.js";
import type { AwsCredentials } from "./sigv4.js";

export const s3ConfigSchema = z
  .strictObject({
    bucket: z.string().min(3, "bucket names have at least 3 characters").describe("LANGFUSE_S3_EVENT_UPLOAD_BUCKET."),
    ...blobLayoutFields,
    endpoint: z.url().optional().describe("For MinIO, R2, Ceph, GCS and other S3-compatible stores (e.g. `http://minio:9000`); omit for AWS."),
    region: z.string().min(1).default("us-east-1").describe("`auto` for R2 and GCS."),
    force_path_style: flag.default(false).describe("`true` for MinIO and most self-hosted stores (`http://host/bucket/key`)."),
    access_key_id: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Static credentials: give both key id and secret, or neither to use the AWS SDK's default credential chain (environment, shared config and SSO, IRSA web identity, ECS and EC2 instance roles).",
      ),
    secret_access_key: z.string().min(1).optional().describe("The secret of `access_key_id` (from `${env:…}` or `${file:…}`)."),
    session_token: z.string().min(1).optional().describe("With temporary static credentials."),
    server_side_encryption: z.enum(["AES256", "aws:kms", "aws:kms:dsse"]).optional().describe("Server-side encryption S3 applies to each object."),
    sse_kms_key_id: z.string().min(1).optional().describe("The KMS key, with `aws:kms` or `aws:kms:dsse`."),
    checksum: z
      .enum(["when_required", "when_supported"])
      .default("when_required")
      .describe("`when_required` sends no CRC32 checksum headers: what MinIO before 2025, R2, Ceph and GCS accept. `when_supported` is the AWS SDK default, for AWS S3."),
    ...objectStoreFields,
  })
  .superRefine((config, context) => {
    if ((config.access_key_id === undefined) !== (config.secret_access_key === undefined)) {
      context.addIssue({
        code: "custom",
        path: [config.access_key_id === undefined ? "access_key_id" : "secret_access_key"],
        message: "give both access_key_id and secret_access_key, or neither to use the default AWS credential chain",
      });
    }
    if (config.sse_kms_key_id !== undefined && config.server_side_encryption !== "aws:kms" && config.server_side_encryption !== "aws:kms:dsse") {
      context.addIssue({ code: "custom", path: ["sse_kms_key_id"], message: "sse_kms_key_id needs server_side_encryption: aws:kms" });
    }
  })
  .describe(
    "Any S3-compatible store (AWS S3, MinIO, R2, Ceph), and Google Cloud Storage in its interoperability mode: one object per group under Langfuse's key layout, signed PUTs over a keep-alive connection pool.",
  );

export type S3Config = z.output<typeof s3ConfigSchema>;

type CredentialSource = () => Promise<AwsCredentials>;

/**
 * Static keys from the config, or the AWS SDK's default credential chain: environment, shared
 * config and SSO, IRSA web identity, ECS and EC2 instance roles. The chain caches credentials and
 * refreshes them before they expire.
 */
function credentialSource(config: S3Config): CredentialSource {
  if (config.access_key_id !== undefined && config.secret_access_key !== undefined) {
    const credentials: AwsCredentials = { accessKeyId: config.access_key_id, secretAccessKey: config.secret_access_key, sessionToken: config.session_token };
    return async () => credentials;
  }
  const chain = defaultProvider();
  return async () => chain();
}

class S3Exporter extends ObjectStoreExporter<S3Config> {
  readonly #settings: ComponentSettings;
  #writer: S3ObjectWriter | undefined;
  #credentials: CredentialSource | undefined;

  constructor(settings: ComponentSettings, config: S3Config) {
    super(config);
    this.#settings = settings;
  }

  async start(): Promise<void> {
    const config = this.config;
    this.#credentials = credentialSource(config);
    this.#writer = new S3ObjectWriter({
      bucket: config.bucket,
      region: config.region,
      endpoint: config.endpoint,
      forcePathStyle: config.force_path_style,
      serverSideEncryption: config.server_side_encryption,
      sseKmsKeyId: config.sse_kms_key_id,
      checksum: config.checksum === "when_supported",
      maxSockets: config.max_sockets,
      connectTimeoutMs: config.connect_timeout,
      requestTimeoutMs: config.request_timeout,
    });
    this.#settings.logger.debug({ bucket: config.bucket, endpoint: config.endpoint ?? "aws" }, "s3 exporter started");
  }

  async shutdown(): Promise<void> {
    await this.#writer?.close();
    this.#writer = undefined;
  }

  protected async putObject(key: string, body: Buffer): Promise<void> {
    const writer = this.#writer;
    const credentials = this.#credentials;
    if (writer === undefined || credentials === undefined) throw new Error("s3 exporter used before start");
    await writer.put(key, body, "application/json", await credentials());
  }

  protected classify(error: unknown): RetryableError | PermanentError {
    return classifyS3Error(error, this.config.retry_after);
  }
}

export const s3ExporterFactory = defineExporter({
  type: "s3",
  role: "blob",
  configSchema: s3ConfigSchema,
  setup: (settings, config) => new S3Exporter(settings, config),
  events: (request, s3) => s3.exportGroups(request),
  spans: (request, s3) => s3.exportGroups(request),
});
