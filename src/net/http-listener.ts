import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createSecureServer, type Server as SecureServer } from "node:https";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import { durationMs, endpoint, type Endpoint } from "../config/units.js";
import { readTlsFiles, tlsSchema, watchTlsFiles, type TlsConfig } from "./tls.js";

/** Timeouts every HTTP listener has, so slow or idle clients cannot pin a small sidecar's sockets. */
export const httpServerFields = {
  tls: tlsSchema.optional().describe("Serve HTTPS; with `client_ca_file`, require client certificates (mTLS). Off when absent."),
  read_timeout: durationMs.default(60_000).describe("Time to receive a whole request, headers and body."),
  read_header_timeout: durationMs.default(10_000).describe("Time to receive the headers; slow clients get 408 and are disconnected."),
  idle_timeout: durationMs.default(30_000).describe("How long an idle keep-alive connection stays open."),
};

export const httpEndpointSchema = (defaultEndpoint: string) =>
  z.strictObject({
    endpoint: endpoint.default(endpoint.parse(defaultEndpoint)),
    ...httpServerFields,
  });

export interface HttpServerSettings {
  endpoint: Endpoint;
  tls?: TlsConfig;
  read_timeout: number;
  read_header_timeout: number;
  idle_timeout: number;
}

export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

/** A node:http listener with a graceful close that lets in-flight requests finish. */
export class HttpListener {
  readonly #server: Server | SecureServer;
  readonly #settings: HttpServerSettings;
  #stopWatchingTls: (() => void) | undefined;
  #closing = false;
  readonly #inFlight = new Set<ServerResponse>();

  constructor(settings: HttpServerSettings, handler: RequestHandler, onUnexpected: (error: unknown) => void) {
    this.#settings = settings;
    const serverOptions = {
      requestTimeout: settings.read_timeout,
      headersTimeout: Math.min(settings.read_header_timeout, settings.read_timeout),
      keepAliveTimeout: settings.idle_timeout,
      // Node enforces the two timeouts above only when it checks its connections (every 30 s by
      // default), which would let a slow client hold a socket far longer than configured.
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(settings.read_header_timeout / 2))),
    };
    const handle = (request: IncomingMessage, response: ServerResponse) => {
      this.#inFlight.add(response);
      if (this.#closing) response.setHeader("connection", "close");
      response.once("close", () => {
        this.#inFlight.delete(response);
        // While closing, a keep-alive socket is released as soon as its last answer is out.
        if (this.#closing) this.#server.closeIdleConnections();
      });
      handler(request, response).catch((error: unknown) => {
        onUnexpected(error);
        if (!response.headersSent) {
          response.writeHead(500, { "content-type": "application/json", connection: "close" });
          response.end('{"message":"Internal Server Error"}');
        } else {
          response.destroy();
        }
      });
    };
    if (settings.tls) {
      const tls = settings.tls;
      const secure = createSecureServer({ ...serverOptions, ...readTlsFiles(tls), requestCert: tls.client_ca_file !== undefined, rejectUnauthorized: tls.client_ca_file !== undefined }, handle);
      this.#stopWatchingTls = watchTlsFiles(tls, (options) => secure.setSecureContext(options), onUnexpected);
      this.#server = secure;
    } else {
      this.#server = createServer(serverOptions, handle);
    }
  }

  get secure(): boolean {
    return this.#settings.tls !== undefined;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.#server.once("error", onError);
      this.#server.listen(this.#settings.endpoint.port, this.#settings.endpoint.host, () => {
        this.#server.off("error", onError);
        resolve();
      });
    });
  }

  address(): string {
    const address = this.#server.address() as AddressInfo | null;
    if (address === null) return "";
    return address.family === "IPv6" ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
  }

  /** Stops accepting connections, closes idle ones and waits for in-flight requests. */
  async close(): Promise<void> {
    this.#stopWatchingTls?.();
    if (!this.#server.listening) return;
    this.#closing = true;
    for (const response of this.#inFlight) if (!response.headersSent) response.setHeader("connection", "close");
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    await closed;
  }

  /** Ends every connection, in flight or not; for when the shutdown deadline has passed. */
  forceClose(): void {
    this.#server.closeAllConnections();
  }
}
