import { z } from "zod";
import { propagateHeadersSchema } from "../request-context.js";
import { byteSize, durationMs, endpoint, integer, nullAsEmpty } from "../../config/units.js";
import type { ReceiverSettings, Receiver, ReceiverFactory } from "../../pipeline/component.js";
import type { PayloadConsumer } from "../../pipeline/payload.js";
import { HttpListener, httpServerFields } from "../../net/http-listener.js";
import { OtlpGrpcServer } from "./grpc-server.js";
import { tlsSchema } from "../../net/tls.js";
import { handleOtlpTraces } from "./http-traces.js";

/** The OTLP specification recommends accepting at least 64 MiB after decompression. */
const DEFAULT_MAX_BODY = "64MiB";

export const otlpConfigSchema = z
  .strictObject({
    propagate_headers: propagateHeadersSchema,
    grpc: nullAsEmpty(z
      .strictObject({
        endpoint: endpoint.default(endpoint.parse("127.0.0.1:4317")).describe("Where to listen."),
        max_recv_msg_size: byteSize
          .default(byteSize.parse(DEFAULT_MAX_BODY))
          .describe("Largest message after decompression (the OTLP specification recommends at least 64 MiB)."),
        tls: tlsSchema.optional().describe("gRPC over TLS; with `client_ca_file`, mutual TLS. Off when absent."),
        max_concurrent_streams: integer({ min: 1, max: 10_000 }).default(100).describe("Calls one connection may have open at once."),
        max_connection_idle: durationMs
          .default(300_000)
          .describe("A connection without calls for this long is closed (GOAWAY), so idle clients do not pile up."),
        max_connection_age: durationMs
          .default(30 * 60_000)
          .describe(
            "Every connection is asked to reconnect (GOAWAY) after this long, so a call whose request never completes (a stream left open) cannot hold the server longer; OTLP clients reconnect transparently.",
          ),
        max_connection_age_grace: durationMs.default(60_000).describe("How long a connection's calls may still finish after `max_connection_age` before it is closed."),
      }))
      .optional()
      .describe("OTLP/gRPC: `opentelemetry.proto.collector.trace.v1.TraceService/Export`, gzip, credentials in the `authorization` metadata."),
    http: nullAsEmpty(z
      .strictObject({
        endpoint: endpoint.default(endpoint.parse("127.0.0.1:4318")).describe("Where to listen."),
        traces_url_path: z.string().startsWith("/").default("/v1/traces").describe("The path OTLP traces are posted to."),
        max_request_body_size: byteSize.default(byteSize.parse(DEFAULT_MAX_BODY)).describe("Largest body, checked before and after decompression."),
        ...httpServerFields,
      }))
      .optional()
      .describe("OTLP/HTTP: `POST` with `application/x-protobuf` or `application/json`, gzip or deflate."),
  })
  .refine((config) => config.grpc !== undefined || config.http !== undefined, {
    message: "enable at least one protocol: grpc, http or both",
  })
  .describe("OTLP from OpenTelemetry SDKs and Collectors. Enable at least one of `grpc` and `http`; `grpc:` alone, with no value, enables it with defaults.");

export type OtlpConfig = z.output<typeof otlpConfigSchema>;

class OtlpReceiver implements Receiver {
  #grpc: OtlpGrpcServer | undefined;
  #http: HttpListener | undefined;

  constructor(
    private readonly settings: ReceiverSettings,
    private readonly config: OtlpConfig,
    private readonly consumer: PayloadConsumer,
  ) {}

  async start(): Promise<void> {
    const { settings, config, consumer } = this;
    const receiverId = settings.id.text;
    if (config.grpc) {
      this.#grpc = new OtlpGrpcServer({
        receiverId,
        endpoint: config.grpc.endpoint,
        maxMessageBytes: config.grpc.max_recv_msg_size,
        tls: config.grpc.tls,
        maxConcurrentStreams: config.grpc.max_concurrent_streams,
        maxConnectionIdleMs: config.grpc.max_connection_idle,
        maxConnectionAgeMs: config.grpc.max_connection_age,
        maxConnectionAgeGraceMs: config.grpc.max_connection_age_grace,
        propagateHeaders: config.propagate_headers,
        consumer,
        logger: settings.logger,
        metrics: settings.metrics,
        requestBudget: settings.requestBudget,
      });
      await this.#grpc.listen();
    }
    if (config.http) {
      const http = config.http;
      this.#http = new HttpListener(
        http,
        async (request, response) => {
          const path = (request.url ?? "").split("?")[0];
          if (path !== http.traces_url_path) {
            response.writeHead(404, { "content-type": "application/json" });
            response.end(JSON.stringify({ code: 5, message: `not found: OTLP traces are received on ${http.traces_url_path}` }));
            request.resume();
            return;
          }
          await handleOtlpTraces(request, response, {
            receiverId,
            source: "otel",
            consumer,
            maxBodyBytes: http.max_request_body_size,
            propagateHeaders: config.propagate_headers,
            logger: settings.logger,
            metrics: settings.metrics,
            buffers: settings.buffers,
            requestBudget: settings.requestBudget,
          });
        },
        (error) => settings.logger.error({ err: error }, "unexpected failure in the OTLP HTTP handler"),
      );
      await this.#http.listen();
    }
    settings.logger.info({ addresses: this.addresses() }, "OTLP receiver listening");
  }

  addresses(): string[] {
    return [
      this.#grpc ? `${this.config.grpc?.tls ? "grpcs" : "grpc"}://${this.#grpc.address()}` : undefined,
      this.#http ? `${this.#http.secure ? "https" : "http"}://${this.#http.address()}` : undefined,
    ].filter(
      (address): address is string => address !== undefined,
    );
  }

  async shutdown(): Promise<void> {
    await Promise.all([this.#grpc?.close(), this.#http?.close()]);
  }
}

export const otlpReceiverFactory: ReceiverFactory<typeof otlpConfigSchema> = {
  kind: "receiver",
  type: "otlp",
  configSchema: otlpConfigSchema,
  create: (settings, config, consumer) => new OtlpReceiver(settings, config, consumer),
};
