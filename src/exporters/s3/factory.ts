import { Agent } from "node:https";
import { Agent as HttpAgent } from "node:http";
import { PutObjectCommand, S3Client, type PutObjectCommandInput } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { z } from "zod";
import { durationMs, flag, integer } from "../../config/units.js";
import { eventObjectKey } from "../../model/blob-keys.js";
import type { ComponentSettings, EventsExporter, ExporterFactory } from "../../pipeline/component.js";
import type { ExportFailure, ExportRequest } from "../../pipeline/export.js";
import { blobLayoutFields } from "../blob-settings.js";
import { classifyS3Error } from "./errors.js";

// The SDK warns on Node 20 that versions released after January 2027 will need Node 22. This
// package pins an SDK that supports Node 20, so the warning says nothing to our users.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

export const s3ConfigSchema = z
  .strictObject({
    bucket: z.string().min(3, "bucket names have at least 3 characters"),
    ...blobLayoutFields,
    /** For MinIO, R2, Ceph and other S3-compatible stores; omit for AWS. */
    endpoint: z.url().optional(),
    region: z.string().min(1).default("us-east-1"),
    /** `true` for MinIO and most self-hosted stores (http://host/bucket/key). */
    force_path_style: flag.default(false),
    access_key_id: z.string().min(1).optional(),
    secret_access_key: z.string().min(1).optional(),
    session_token: z.string().min(1).optional(),
    server_side_encryption: z.enum(["AES256", "aws:kms", "aws:kms:dsse"]).optional(),
    sse_kms_key_id: z.string().min(1).optional(),
    /**
     * `when_required` sends no CRC32 checksum headers: what MinIO before 2025, R2 and Ceph accept.
     * `when_supported` is the AWS SDK default, for AWS S3.
     */
    checksum: z.enum(["when_required", "when_supported"]).default("when_required"),
    max_sockets: integer({ min: 1, max: 4096 }).default(64),
    connect_timeout: durationMs.default(5_000),
    request_timeout: durationMs.default(30_000),
    /** Attempts per PUT inside the S3 client (with its own backoff), before the request fails. */
    max_attempts: integer({ min: 1, max: 10 }).default(3),
    /** Retry-After sent to clients when S3 is unavailable. */
    retry_after: durationMs.default(5_000),
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
  });

export type S3Config = z.output<typeof s3ConfigSchema>;

class S3Exporter implements EventsExporter {
  readonly role = "blob";
  readonly #config: S3Config;
  readonly #settings: ComponentSettings;
  #client: S3Client | undefined;

  constructor(settings: ComponentSettings, config: S3Config) {
    this.#settings = settings;
    this.#config = config;
  }

  async start(): Promise<void> {
    const config = this.#config;
    const agentOptions = { keepAlive: true, maxSockets: config.max_sockets };
    this.#client = new S3Client({
      region: config.region,
      endpoint: config.endpoint,
      forcePathStyle: config.force_path_style,
      maxAttempts: config.max_attempts,
      credentials:
        config.access_key_id !== undefined && config.secret_access_key !== undefined
          ? { accessKeyId: config.access_key_id, secretAccessKey: config.secret_access_key, sessionToken: config.session_token }
          : undefined,
      requestChecksumCalculation: config.checksum === "when_required" ? "WHEN_REQUIRED" : "WHEN_SUPPORTED",
      responseChecksumValidation: config.checksum === "when_required" ? "WHEN_REQUIRED" : "WHEN_SUPPORTED",
      requestHandler: new NodeHttpHandler({
        httpAgent: new HttpAgent(agentOptions),
        httpsAgent: new Agent(agentOptions),
        connectionTimeout: config.connect_timeout,
        requestTimeout: config.request_timeout,
      }),
    });
    this.#settings.logger.debug({ bucket: config.bucket, endpoint: config.endpoint ?? "aws" }, "s3 exporter started");
  }

  async shutdown(): Promise<void> {
    this.#client?.destroy();
    this.#client = undefined;
  }

  async exportGroups(request: ExportRequest): Promise<ExportFailure[]> {
    const client = this.#client;
    if (client === undefined) throw new Error("s3 exporter used before start");
    const config = this.#config;
    const { projectId } = request.context.scope;
    const results = await Promise.all(
      request.groups.map(async (group): Promise<ExportFailure | undefined> => {
        const key = eventObjectKey(config.prefix, projectId, group.entityType, group.eventBodyId, group.firstEventId, config.max_segment_bytes);
        const input: PutObjectCommandInput = {
          Bucket: config.bucket,
          Key: key.objectKey,
          Body: group.body,
          ContentType: "application/json",
        };
        if (config.server_side_encryption !== undefined) input.ServerSideEncryption = config.server_side_encryption;
        if (config.sse_kms_key_id !== undefined) input.SSEKMSKeyId = config.sse_kms_key_id;
        try {
          await client.send(new PutObjectCommand(input));
          group.blob = { bucketPrefix: key.bucketPrefix, fileKey: key.fileKey };
          return undefined;
        } catch (error) {
          return { group, error: classifyS3Error(error, config.retry_after) };
        }
      }),
    );
    return results.filter((result): result is ExportFailure => result !== undefined);
  }
}

export const s3ExporterFactory: ExporterFactory<typeof s3ConfigSchema> = {
  kind: "exporter",
  type: "s3",
  role: "blob",
  configSchema: s3ConfigSchema,
  create: (settings, config) => new S3Exporter(settings, config),
};
