import { AggregatorRegistry, register } from "prom-client";
import { z } from "zod";
import { endpoint, flag } from "../config/units.js";
import { HttpListener } from "../net/http-listener.js";
import { collectProcessMetrics } from "./metrics.js";

export const metricsConfigSchema = z.strictObject({
  enabled: flag.default(true).describe("Serve Prometheus metrics."),
  endpoint: endpoint
    .default(endpoint.parse("127.0.0.1:8888"))
    .describe("Prometheus scrape address, `GET /metrics`; with several workers the primary serves it, summing the workers."),
});

export type MetricsConfig = z.output<typeof metricsConfigSchema>;

/**
 * `GET /metrics` in Prometheus' text format. In a multi-process daemon the primary serves it and
 * sums its workers' registries (prom-client's cluster aggregation); a worker serves none.
 */
export class MetricsServer {
  readonly #listener: HttpListener;

  constructor(config: MetricsConfig, scope: "process" | "cluster", onUnexpected: (error: unknown) => void) {
    collectProcessMetrics();
    const aggregator = scope === "cluster" ? new AggregatorRegistry() : undefined;
    this.#listener = new HttpListener(
      { endpoint: config.endpoint, read_timeout: 10_000, read_header_timeout: 5_000, idle_timeout: 30_000 },
      async (request, response) => {
        request.resume();
        if ((request.url ?? "").split("?")[0] !== "/metrics") {
          response.writeHead(404, { "content-type": "text/plain" });
          response.end("metrics are at /metrics\n");
          return;
        }
        const body = aggregator ? await aggregator.clusterMetrics() : await register.metrics();
        response.writeHead(200, { "content-type": register.contentType });
        response.end(body);
      },
      onUnexpected,
    );
  }

  listen(): Promise<void> {
    return this.#listener.listen();
  }

  address(): string {
    return this.#listener.address();
  }

  close(): Promise<void> {
    return this.#listener.close();
  }
}
