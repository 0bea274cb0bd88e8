import { createHmac, hash } from "node:crypto";

/**
 * AWS Signature Version 4 for S3 object PUTs: the part of the AWS SDK's request pipeline the S3
 * exporter keeps, without the SDK's per-request middleware stack, which costs many times the CPU
 * of the signature itself (bench/results/2026-11-25.md). Unit-tested against the SDK's own signer.
 */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SignableRequest {
  method: string;
  host: string;
  /** Already URI-encoded path, e.g. `/bucket/events/p%201/x.json`. */
  path: string;
  /** Headers to sign, names in lower case (host and x-amz-date are added). */
  headers: Record<string, string>;
  payloadHash: string;
}

const ALGORITHM = "AWS4-HMAC-SHA256";

/** One-shot `crypto.hash`: about half the CPU of createHash().update().digest() for small inputs. */
export function sha256Hex(data: Buffer | string): string {
  return hash("sha256", data, "hex");
}

/** Whitespace that SigV4's canonical header value must trim or fold; plain values skip the regexes. */
const FOLDABLE_WHITESPACE = /^\s|\s$|\s\s|[\t\n\r\v\f]/;

function canonicalHeaderValue(value: string): string {
  return FOLDABLE_WHITESPACE.test(value) ? value.trim().replace(/\s+/g, " ") : value;
}

/** S3's URI encoding of an object key, shared with the other stores. */
export { encodeKeyPath } from "../http-put.js";

/** `YYYYMMDDTHHMMSSZ` */
export function amzDate(now: Date): string {
  return now.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

export class SigV4Signer {
  readonly #region: string;
  readonly #service: string;
  /** The signing key depends only on the secret, the day, region and service: derive it once a day. */
  #keyCache: { secret: string; day: string; key: Buffer } | undefined;
  /** `x-amz-date` has whole seconds: format it once per second. */
  #dateCache = { second: Number.NaN, stamp: "" };

  constructor(region: string, service = "s3") {
    this.#region = region;
    this.#service = service;
  }

  #signingKey(secret: string, day: string): Buffer {
    const cached = this.#keyCache;
    if (cached && cached.secret === secret && cached.day === day) return cached.key;
    const dateKey = createHmac("sha256", `AWS4${secret}`).update(day).digest();
    const regionKey = createHmac("sha256", dateKey).update(this.#region).digest();
    const serviceKey = createHmac("sha256", regionKey).update(this.#service).digest();
    const key = createHmac("sha256", serviceKey).update("aws4_request").digest();
    this.#keyCache = { secret, day, key };
    return key;
  }

  #timestamp(now: Date): string {
    const second = Math.floor(now.getTime() / 1000);
    if (this.#dateCache.second !== second) this.#dateCache = { second, stamp: amzDate(now) };
    return this.#dateCache.stamp;
  }

  /** Returns the headers to send: the request's own, plus x-amz-date, the token and Authorization. */
  sign(request: SignableRequest, credentials: AwsCredentials, now: Date): Record<string, string> {
    const timestamp = this.#timestamp(now);
    const day = timestamp.slice(0, 8);
    const headers: Record<string, string> = { ...request.headers, host: request.host, "x-amz-date": timestamp };
    if (credentials.sessionToken) headers["x-amz-security-token"] = credentials.sessionToken;
    const names = Object.keys(headers).sort();
    const canonicalHeaders = names.map((name) => `${name}:${canonicalHeaderValue(headers[name]!)}\n`).join("");
    const signedHeaders = names.join(";");
    const canonicalRequest = `${request.method}\n${request.path}\n\n${canonicalHeaders}\n${signedHeaders}\n${request.payloadHash}`;
    const scope = `${day}/${this.#region}/${this.#service}/aws4_request`;
    const stringToSign = `${ALGORITHM}\n${timestamp}\n${scope}\n${sha256Hex(canonicalRequest)}`;
    const signature = createHmac("sha256", this.#signingKey(credentials.secretAccessKey, day)).update(stringToSign).digest("hex");
    headers.authorization = `${ALGORITHM} Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return headers;
  }
}
