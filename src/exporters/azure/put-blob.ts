import type { Pool } from "undici";
import { encodeKeyPath, sendForStatus, storePool, xmlField, type AnswerHeaders, type StorePoolSettings } from "../http-put.js";
import type { BlobAuthorizer } from "./auth.js";

/** The Blob service version the requests ask for: served by Azure and by Azurite 3.35 without flags. */
export const BLOB_SERVICE_VERSION = "2025-11-05";

export interface BlobWriterSettings extends StorePoolSettings {
  /** The Blob service URL: `https://<account>.blob.core.windows.net`, or with the account in the path for emulators. */
  endpoint: string;
  container: string;
  authorizer: BlobAuthorizer;
}

/** An answer of the Blob service other than 2xx: its error code (`x-ms-error-code`), message and status. */
export class AzureResponseError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = code;
  }
}

function errorFromAnswer(status: number, headers: AnswerHeaders, body: Buffer): AzureResponseError {
  const xml = body.toString("utf8");
  const header = headers["x-ms-error-code"];
  const code = (Array.isArray(header) ? header[0] : header) ?? xmlField(xml, "Code") ?? `Http${status}`;
  // Azure's messages end in "\nRequestId:…\nTime:…" lines: kept (support asks for the id), on one line.
  const message = (xmlField(xml, "Message") ?? `HTTP ${status}`).replace(/\s*\n\s*/g, " ");
  return new AzureResponseError(code, message, status);
}

/** `x-ms-date` has whole seconds: one RFC 1123 string per second. */
class DateHeader {
  #second = Number.NaN;
  #value = "";

  now(): string {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    if (second !== this.#second) {
      this.#second = second;
      this.#value = new Date(now).toUTCString();
    }
    return this.#value;
  }
}

/**
 * Put Blob (a whole block blob in one request, what `BlockBlobClient.upload` sends) over a
 * keep-alive undici pool, authorised by Shared Key, SAS or an Entra ID token. Resolves on 2xx;
 * rejects with an AzureResponseError or the network error.
 */
export class AzureBlobWriter {
  readonly #origin: string;
  /** The endpoint's own path (the account, for emulators) and the container, ending in `/`. */
  readonly #containerPath: string;
  readonly #authorizer: BlobAuthorizer;
  readonly #pool: Pool;
  readonly #date = new DateHeader();

  constructor(settings: BlobWriterSettings) {
    const base = new URL(settings.endpoint);
    this.#origin = base.origin;
    this.#containerPath = `${base.pathname.replace(/\/$/, "")}/${encodeKeyPath(settings.container)}/`;
    this.#authorizer = settings.authorizer;
    this.#pool = storePool(base.origin, settings);
  }

  async put(name: string, body: Buffer, contentType: string): Promise<void> {
    const headers: Record<string, string> = {
      "content-length": String(body.length),
      "content-type": contentType,
      "x-ms-blob-type": "BlockBlob",
      "x-ms-date": this.#date.now(),
      "x-ms-version": BLOB_SERVICE_VERSION,
    };
    const path = await this.#authorizer.authorize({ method: "PUT", path: this.#containerPath + encodeKeyPath(name), headers });
    await sendForStatus(this.#pool, { origin: this.#origin, method: "PUT", path, headers, body }, errorFromAnswer);
  }

  /** Get Container Properties: resolves when the container exists and the credentials may read it. */
  async checkContainer(): Promise<void> {
    const headers: Record<string, string> = { "x-ms-date": this.#date.now(), "x-ms-version": BLOB_SERVICE_VERSION };
    const containerPath = this.#containerPath.slice(0, -1);
    const path = await this.#authorizer.authorize({ method: "GET", path: containerPath, query: { restype: "container" }, headers });
    const withQuery = `${path}${path.includes("?") ? "&" : "?"}restype=container`;
    await sendForStatus(this.#pool, { origin: this.#origin, method: "GET", path: withQuery, headers }, errorFromAnswer);
  }

  /** Ends every connection; requests still in flight fail as network errors (the spool keeps their data). */
  async close(): Promise<void> {
    await this.#pool.destroy();
  }
}
