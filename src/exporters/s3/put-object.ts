import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { crc32 } from "node:zlib";
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

/**
 * One signed PutObject over a keep-alive agent: the request the AWS SDK would send, without its
 * middleware stack. Resolves on 2xx; rejects with an S3ResponseError (code and status from S3's
 * XML answer) or the network error.
 */
export class S3ObjectWriter {
  readonly #settings: PutObjectSettings;
  readonly #signer: SigV4Signer;
  readonly #base: URL;
  readonly #agent: HttpAgent | HttpsAgent;
  readonly #send: typeof httpRequest;

  constructor(settings: PutObjectSettings) {
    this.#settings = settings;
    this.#signer = new SigV4Signer(settings.region);
    const base = new URL(settings.endpoint ?? `https://s3.${settings.region}.amazonaws.com`);
    if (!settings.forcePathStyle) base.hostname = `${settings.bucket}.${base.hostname}`;
    this.#base = base;
    const agentOptions = { keepAlive: true, maxSockets: settings.maxSockets };
    const secure = base.protocol === "https:";
    this.#agent = secure ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
    this.#send = (secure ? httpsRequest : httpRequest) as typeof httpRequest;
  }

  #path(key: string): string {
    const prefix = this.#base.pathname.replace(/\/$/, "");
    const bucket = this.#settings.forcePathStyle ? `/${encodeKeyPath(this.#settings.bucket)}` : "";
    return `${prefix}${bucket}/${encodeKeyPath(key)}`;
  }

  put(key: string, body: Buffer, contentType: string, credentials: AwsCredentials): Promise<void> {
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
    const path = this.#path(key);
    const signed = this.#signer.sign({ method: "PUT", host: this.#base.host, path, headers, payloadHash: headers["x-amz-content-sha256"]! }, credentials, new Date());

    return new Promise((resolve, reject) => {
      const request = this.#send(
        {
          protocol: this.#base.protocol,
          hostname: this.#base.hostname,
          port: this.#base.port,
          method: "PUT",
          path,
          headers: signed,
          agent: this.#agent,
        },
        (response: IncomingMessage) => {
          const status = response.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            response.resume();
            response.once("end", () => resolve());
            response.once("error", reject);
            return;
          }
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.length < 64 && chunks.push(chunk));
          response.once("error", reject);
          response.once("end", () => {
            const xml = Buffer.concat(chunks).toString("utf8");
            const code = xmlField(xml, "Code") ?? (status === 503 ? "ServiceUnavailable" : `Http${status}`);
            reject(new S3ResponseError(code, xmlField(xml, "Message") ?? `HTTP ${status}`, status));
          });
        },
      );
      // A request that gets no answer in time is a network failure (retryable), like the SDK's timeouts.
      const deadline = setTimeout(() => request.destroy(Object.assign(new Error(`no answer within ${settings.requestTimeoutMs} ms`), { name: "TimeoutError" })), settings.requestTimeoutMs);
      request.once("close", () => clearTimeout(deadline));
      request.once("socket", (socket) => {
        if (!socket.connecting) return;
        const connectDeadline = setTimeout(
          () => request.destroy(Object.assign(new Error(`no connection within ${settings.connectTimeoutMs} ms`), { name: "TimeoutError" })),
          settings.connectTimeoutMs,
        );
        socket.once("connect", () => clearTimeout(connectDeadline));
        socket.once("close", () => clearTimeout(connectDeadline));
      });
      request.once("error", reject);
      request.end(body);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
