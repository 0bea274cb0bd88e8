import { crc32 } from "node:zlib";
import { Pool, type Dispatcher } from "undici";
import { encodeKeyPath, sha256Hex, SigV4Signer, type AwsCredentials } from "./sigv4.js";

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

function xmlField(xml: string, field: string): string | undefined {
  return new RegExp(`<${field}>([^<]*)</${field}>`).exec(xml)?.[1];
}

/** Longest S3 error answer kept for its Code and Message: the XML error documents are a few hundred bytes. */
const ERROR_BODY_LIMIT = 16 * 1024;

function errorFromAnswer(status: number, body: Buffer): S3ResponseError {
  const xml = body.toString("utf8");
  const code = xmlField(xml, "Code") ?? (status === 503 ? "ServiceUnavailable" : `Http${status}`);
  return new S3ResponseError(code, xmlField(xml, "Message") ?? `HTTP ${status}`, status);
}

/**
 * Receives one PUT's answer straight from undici's dispatcher: its status, and the body only when
 * it is an error document (bounded). `Pool.request` would build a response object and a Readable
 * body stream per PUT, which cost more CPU than the rest of the PUT's client side.
 */
class PutAnswer implements Dispatcher.DispatchHandler {
  #status = 0;
  readonly #errorBody: Buffer[] = [];
  #errorBytes = 0;

  constructor(
    private readonly resolve: () => void,
    private readonly reject: (error: Error) => void,
  ) {}

  /** Nothing to do at the start; defining it marks this as a handler of undici's current interface. */
  onRequestStart(): void {}

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    this.#status = statusCode;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#status >= 200 && this.#status < 300) return;
    if (this.#errorBytes < ERROR_BODY_LIMIT) this.#errorBody.push(chunk);
    this.#errorBytes += chunk.length;
  }

  onResponseEnd(): void {
    const status = this.#status;
    if (status >= 200 && status < 300) this.resolve();
    else this.reject(errorFromAnswer(status, Buffer.concat(this.#errorBody)));
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.reject(error);
  }
}

/**
 * One signed PutObject over a keep-alive connection pool: the request the AWS SDK would send,
 * without its middleware stack. undici's pool, not node:http's agent: per PUT it costs about a
 * third less CPU (no ClientRequest/IncomingMessage streams per request), and the PUT is what the
 * converted-events path spends most of its CPU on. Resolves on 2xx; rejects with an
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
    this.#pool = new Pool(base.origin, {
      connections: settings.maxSockets,
      connect: { timeout: settings.connectTimeoutMs },
      // A PUT that gets no answer in time is a network failure (retryable), like the SDK's timeouts.
      headersTimeout: settings.requestTimeoutMs,
      bodyTimeout: settings.requestTimeoutMs,
    });
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

    await new Promise<void>((resolve, reject) => {
      this.#pool.dispatch({ origin: this.#origin, method: "PUT", path, headers: signed, body }, new PutAnswer(resolve, reject));
    });
  }

  /** Ends every connection; PUTs still in flight fail as network errors (the spool keeps their data). */
  async close(): Promise<void> {
    await this.#pool.destroy();
  }
}
