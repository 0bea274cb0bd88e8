import { z } from "zod";
import { endpoint } from "../config/units.js";
import { HttpListener } from "../net/http-listener.js";

export const healthConfigSchema = z.strictObject({
  endpoint: endpoint
    .default(endpoint.parse("127.0.0.1:13133"))
    .describe(
      "`GET /livez` (200 while the process serves) and `GET /readyz` (200 between a complete start and the beginning of shutdown while the daemon can take data, 503 otherwise); `0.0.0.0` in Kubernetes so kubelet can reach it (it serves no data).",
    ),
});

export type HealthConfig = z.output<typeof healthConfigSchema>;

/**
 * Liveness and readiness for orchestrators: `/livez` answers 200 while the process serves at all;
 * `/readyz` answers 200 only between a complete start and the beginning of shutdown, so a
 * terminating pod leaves the load balancer before its listeners close.
 */
export class HealthServer {
  #ready = false;
  #reason = "starting";
  /** Extra readiness condition once started: a reason when the daemon cannot take data now. */
  #check: () => string | undefined = () => undefined;
  readonly #listener: HttpListener;

  constructor(config: HealthConfig, onUnexpected: (error: unknown) => void) {
    this.#listener = new HttpListener(
      { endpoint: config.endpoint, read_timeout: 5_000, read_header_timeout: 5_000, idle_timeout: 5_000 },
      async (request, response) => {
        request.resume();
        const path = (request.url ?? "").split("?")[0];
        const send = (status: number, body: unknown) => {
          response.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
          response.end(JSON.stringify(body));
        };
        if (path === "/livez" || path === "/") return send(200, { status: "alive" });
        if (path === "/readyz") {
          const reason = this.#ready ? this.#check() : this.#reason;
          return reason === undefined ? send(200, { status: "ready" }) : send(503, { status: "not ready", reason });
        }
        send(404, { status: "not found", paths: ["/livez", "/readyz"] });
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

  /** While started, `check` decides readiness (for example: the spool is full, a backend is unreachable without a spool). */
  setReadinessCheck(check: () => string | undefined): void {
    this.#check = check;
  }

  setReady(ready: boolean, reason = ""): void {
    this.#ready = ready;
    this.#reason = reason;
  }

  close(): Promise<void> {
    return this.#listener.close();
  }
}
