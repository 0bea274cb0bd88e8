import { createHmac } from "node:crypto";

/**
 * Azure Storage's Shared Key authorisation for Blob requests: one HMAC-SHA256 of a canonical
 * string with the account key. The part of @azure/storage-blob's pipeline the azure_blob exporter
 * keeps (its signing policy; the SDK's whole pipeline costs several times the CPU per PUT, see
 * docs/performance.md and bench/results/2026-12-07.md). Unit-tested against the SDK's own signer, and Azurite checks it.
 */

export interface SignableBlobRequest {
  method: string;
  /** The URL path exactly as sent (percent-encoded), e.g. `/devstoreaccount1/langfuse/a%20b.json`. */
  path: string;
  /** Query parameters, decoded (`restype=container` → `{ restype: "container" }`). */
  query?: Readonly<Record<string, string>>;
  /** Request headers, names in lower case. */
  headers: Readonly<Record<string, string>>;
}

/** The standard headers the string-to-sign lists by value, in the service's order. */
const STANDARD_HEADERS = [
  "content-encoding",
  "content-language",
  "content-length",
  "content-md5",
  "content-type",
  "date",
  "if-modified-since",
  "if-match",
  "if-none-match",
  "if-unmodified-since",
  "range",
] as const;

export class SharedKeySigner {
  readonly #account: string;
  readonly #key: Buffer;

  /** `accountKey` as Azure shows it: base64. */
  constructor(account: string, accountKey: string) {
    this.#account = account;
    this.#key = Buffer.from(accountKey, "base64");
  }

  /** The string the signature covers (exposed for the tests that compare it with the SDK's). */
  stringToSign(request: SignableBlobRequest): string {
    const { headers } = request;
    const lines: string[] = [request.method.toUpperCase()];
    for (const name of STANDARD_HEADERS) {
      const value = headers[name] ?? "";
      // A zero Content-Length is signed as empty (service versions since 2015-02-21).
      lines.push(name === "content-length" && value === "0" ? "" : value);
    }
    let canonical = lines.join("\n") + "\n";
    for (const name of Object.keys(headers).filter((header) => header.startsWith("x-ms-")).sort()) {
      canonical += `${name}:${headers[name]!.trimStart()}\n`;
    }
    canonical += `/${this.#account}${request.path}`;
    if (request.query !== undefined) {
      const parameters = Object.keys(request.query).map((name) => [name.toLowerCase(), request.query![name]!] as const);
      parameters.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      for (const [name, value] of parameters) canonical += `\n${name}:${value}`;
    }
    return canonical;
  }

  /** The `Authorization` header value for the request. */
  authorization(request: SignableBlobRequest): string {
    const signature = createHmac("sha256", this.#key).update(this.stringToSign(request), "utf8").digest("base64");
    return `SharedKey ${this.#account}:${signature}`;
  }
}
