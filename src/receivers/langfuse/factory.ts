import { z } from "zod";
import { byteSize, endpoint } from "../../config/units.js";
import type { ReceiverSettings, Receiver, ReceiverFactory } from "../../pipeline/component.js";
import type { PayloadConsumer } from "../../pipeline/payload.js";
import { HttpListener, httpServerFields } from "../../net/http-listener.js";
import { handleOtlpTraces } from "../otlp/http-traces.js";
import { VERSION } from "../../version.js";
import { handleIngestion } from "./ingestion.js";
import { propagateHeadersSchema } from "../request-context.js";


export const langfuseConfigSchema = z
  .strictObject({
    endpoint: endpoint.default(endpoint.parse("127.0.0.1:3000")).describe("Where to listen."),
    max_ingestion_body_size: byteSize
      .default(byteSize.parse("4.5MiB"))
      .describe("Largest `/api/public/ingestion` body: Langfuse's own (Next.js) limit."),
    max_otel_body_size: byteSize
      .default(byteSize.parse("64MiB"))
      .describe("Largest `/api/public/otel/v1/traces` body; the OTLP specification recommends at least 64 MiB."),
    write_mode: z
      .enum(["legacy", "dual", "events_only"])
      .default("legacy")
      .describe(
        "The target Langfuse's LANGFUSE_MIGRATION_V4_WRITE_MODE. With `events_only` (Langfuse v4's default), `/api/public/ingestion` accepts only `score-create` and `sdk-log` and answers other events with Langfuse v4's per-event 400 \"Event type not accepted\".",
      ),
    propagate_headers: propagateHeadersSchema,
    ...httpServerFields,
  })
  .describe(
    "Langfuse's public API, so Langfuse SDKs can use the daemon as their base URL: `POST /api/public/ingestion` (native batches), `POST /api/public/otel/v1/traces` (OTLP/HTTP), `GET /api/public/health`.",
  );

export type LangfuseConfig = z.output<typeof langfuseConfigSchema>;

/**
 * Langfuse's public ingestion API, so Langfuse SDKs work by pointing their base URL here:
 * `POST /api/public/ingestion`, `POST /api/public/otel/v1/traces`, `GET /api/public/health`.
 */
class LangfuseReceiver implements Receiver {
  #http: HttpListener | undefined;

  constructor(
    private readonly settings: ReceiverSettings,
    private readonly config: LangfuseConfig,
    private readonly consumer: PayloadConsumer,
  ) {}

  async start(): Promise<void> {
    const { settings, config, consumer } = this;
    const receiverId = settings.id.text;
    this.#http = new HttpListener(
      config,
      async (request, response) => {
        const path = (request.url ?? "").split("?")[0];
        switch (path) {
          case "/api/public/ingestion":
            return handleIngestion(request, response, {
              receiverId,
              consumer,
              maxBodyBytes: config.max_ingestion_body_size,
              logger: settings.logger,
              metrics: settings.metrics,
              requestBudget: settings.requestBudget,
              writeMode: config.write_mode,
            });
          case "/api/public/otel/v1/traces":
            return handleOtlpTraces(request, response, {
              receiverId,
              source: "otel",
              consumer,
              maxBodyBytes: config.max_otel_body_size,
              logger: settings.logger,
              metrics: settings.metrics,
              buffers: settings.buffers,
              requestBudget: settings.requestBudget,
              propagateHeaders: config.propagate_headers,
            });
          case "/api/public/health":
            response.writeHead(200, { "content-type": "application/json" });
            response.end(JSON.stringify({ status: "OK", version: VERSION }));
            request.resume();
            return;
          default:
            response.writeHead(404, { "content-type": "application/json" });
            response.end(JSON.stringify({ error: "NotFoundError", message: `no route for ${request.method} ${path}` }));
            request.resume();
        }
      },
      (error) => settings.logger.error({ err: error }, "unexpected failure in the Langfuse API handler"),
    );
    await this.#http.listen();
    settings.logger.info({ addresses: this.addresses() }, "Langfuse API receiver listening");
  }

  addresses(): string[] {
    return this.#http ? [`${this.#http.secure ? "https" : "http"}://${this.#http.address()}`] : [];
  }

  async shutdown(): Promise<void> {
    await this.#http?.close();
  }
}

export const langfuseReceiverFactory: ReceiverFactory<typeof langfuseConfigSchema> = {
  kind: "receiver",
  type: "langfuse",
  configSchema: langfuseConfigSchema,
  create: (settings, config, consumer) => new LangfuseReceiver(settings, config, consumer),
};
