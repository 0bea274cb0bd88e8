import { crc32 } from "node:zlib";
import type { Pool } from "undici";
import { encodeKeyPath, sendForStatus, storePool, xmlField, type AnswerHeaders } from "../http-put.js";
import { sha256Hex, SigV4Signer, type AwsCredentials } from "./sigv4.js";

export interface PutObjectSettings {
  bucket: string;
  region: string;
  /** Custom endpoint (MinIO, R2, Ceph); undefined for AWS. */
  endpoint: string | undefined;
  forcePathStyle: boolean;
  serverSideEncryption: string | undefined;
  sseKmsKeyId: string | undefined;
  /** Send a CRC32 checksum header (what the AWS SDK does by default for AWS S3). */
  checksum: boolean;
  maxSockets: number;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
}

/** An S3 error answer, shaped like the AWS SDK's errors so the same classification applies. */
export class S3ResponseError extends Error {
  readonly $metadata: { httpStatusCode: number };
  constructor(code: string, message: string, status: number) {
    super(message);
    this.name = code;
    this.$metadata = { httpStatusCode: status };
  }
}

function errorFromAnswer(status: number, _headers: AnswerHeaders, body: Buffer): S3ResponseError {
  const xml = body.toString("utf8");
  const code = xmlField(xml, "Code") ?? (status === 503 ? "ServiceUnavailable" : `Http${status}`);
  return new S3ResponseError(code, xmlField(xml, "Message") ?? `HTTP ${status}`, status);
}

/**
 * One signed PutObject over a keep-alive connection pool (../http-put.ts): the request the AWS SDK
 * would send, without its middleware stack. undici's pool, not node:http's agent: per PUT it costs
 * less CPU (no ClientRequest/IncomingMessage streams per request; bench/results/2026-11-26.md),
 * and the PUT is one of the converted-events path's largest CPU costs. Resolves on 2xx; rejects with an
 * S3ResponseError (code and status from S3's XML answer) or the network error.
 */
export class S3ObjectWriter {
  readonly #settings: PutObjectSettings;
  readonly #signer: SigV4Signer;
  /** The Host header S3 sees, and signs: the endpoint's host, with the bucket in front unless path style. */
  readonly #host: string;
  /** The path before the key: the endpoint's own path, then the bucket in path style. */
  readonly #pathPrefix: string;
  readonly #origin: string;
  readonly #pool: Pool;

  constructor(settings: PutObjectSettings) {
    this.#settings = settings;
    this.#signer = new SigV4Signer(settings.region);
    const base = new URL(settings.endpoint ?? `https://s3.${settings.region}.amazonaws.com`);
    if (!settings.forcePathStyle) base.hostname = `${settings.bucket}.${base.hostname}`;
    this.#host = base.host;
    const bucket = settings.forcePathStyle ? `/${encodeKeyPath(settings.bucket)}` : "";
    this.#pathPrefix = `${base.pathname.replace(/\/$/, "")}${bucket}/`;
    this.#origin = base.origin;
    this.#pool = storePool(base.origin, settings);
  }

  async put(key: string, body: Buffer, contentType: string, credentials: AwsCredentials): Promise<void> {
    const settings = this.#settings;
    const headers: Record<string, string> = {
      "content-length": String(body.length),
      "content-type": contentType,
      "x-amz-content-sha256": sha256Hex(body),
    };
    if (settings.checksum) {
      const checksum = Buffer.allocUnsafe(4);
      checksum.writeUInt32BE(crc32(body), 0);
      headers["x-amz-checksum-crc32"] = checksum.toString("base64");
      headers["x-amz-sdk-checksum-algorithm"] = "CRC32";
    }
    if (settings.serverSideEncryption) headers["x-amz-server-side-encryption"] = settings.serverSideEncryption;
    if (settings.sseKmsKeyId) headers["x-amz-server-side-encryption-aws-kms-key-id"] = settings.sseKmsKeyId;
    const path = this.#pathPrefix + encodeKeyPath(key);
    const signed = this.#signer.sign({ method: "PUT", host: this.#host, path, headers, payloadHash: headers["x-amz-content-sha256"]! }, credentials, new Date());

    await sendForStatus(this.#pool, { origin: this.#origin, method: "PUT", path, headers: signed, body }, errorFromAnswer);
  }

  /** Ends every connection; PUTs still in flight fail as network errors (the spool keeps their data). */
  async close(): Promise<void> {
    await this.#pool.destroy();
  }
}
