import { Pool, type Dispatcher } from "undici";

/**
 * What the object-store exporters (s3, azure_blob) share on the wire: a keep-alive undici pool per
 * store, and requests whose answer is read straight from undici's dispatcher, with the body kept
 * only when it is an error document (bounded). `Pool.request` would build a response object and a
 * Readable body stream per PUT, which cost more CPU than the rest of the PUT's client side.
 */

export interface StorePoolSettings {
  maxSockets: number;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
}

/** One pool per store origin: at most `maxSockets` connections, each PUT bounded in time. */
export function storePool(origin: string, settings: StorePoolSettings): Pool {
  return new Pool(origin, {
    connections: settings.maxSockets,
    connect: { timeout: settings.connectTimeoutMs },
    // A request that gets no answer in time is a network failure (retryable), like the SDKs' timeouts.
    headersTimeout: settings.requestTimeoutMs,
    bodyTimeout: settings.requestTimeoutMs,
  });
}

export type AnswerHeaders = Record<string, string | string[] | undefined>;

/** Turns a non-2xx answer into the store's own error: its status, headers and (bounded) body. */
export type ErrorFromAnswer = (status: number, headers: AnswerHeaders, body: Buffer) => Error;

/** Longest error answer kept for its code and message: the XML error documents are a few hundred bytes. */
const ERROR_BODY_LIMIT = 16 * 1024;

class StatusAnswer implements Dispatcher.DispatchHandler {
  #status = 0;
  #headers: AnswerHeaders = {};
  readonly #errorBody: Buffer[] = [];
  #errorBytes = 0;

  constructor(
    private readonly resolve: () => void,
    private readonly reject: (error: Error) => void,
    private readonly toError: ErrorFromAnswer,
  ) {}

  /** Nothing to do at the start; defining it marks this as a handler of undici's current interface. */
  onRequestStart(): void {}

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: AnswerHeaders): void {
    this.#status = statusCode;
    if (statusCode < 200 || statusCode >= 300) this.#headers = headers;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#status >= 200 && this.#status < 300) return;
    if (this.#errorBytes < ERROR_BODY_LIMIT) this.#errorBody.push(chunk);
    this.#errorBytes += chunk.length;
  }

  onResponseEnd(): void {
    const status = this.#status;
    if (status >= 200 && status < 300) this.resolve();
    else this.reject(this.toError(status, this.#headers, Buffer.concat(this.#errorBody)));
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.reject(error);
  }
}

/** Sends one request; resolves on 2xx, rejects with `toError`'s error or the network error. */
export function sendForStatus(pool: Pool, request: Dispatcher.DispatchOptions, toError: ErrorFromAnswer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    pool.dispatch(request, new StatusAnswer(resolve, reject, toError));
  });
}

/** The text of `<field>…</field>` in a store's XML error document. */
export function xmlField(xml: string, field: string): string | undefined {
  return new RegExp(`<${field}>([^<]*)</${field}>`).exec(xml)?.[1];
}

/**
 * An object key as a URL path: every segment percent-encoded (RFC 3986 unreserved characters
 * stay), `/` kept. S3's URI encoding, which Azure Blob Storage decodes the same way.
 */
export function encodeKeyPath(key: string): string {
  return encodeURIComponent(key)
    .replaceAll("%2F", "/")
    .replace(/[!'()*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
}
