import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type FaultMode = "pass" | "slowdown" | "hang";

const SLOW_DOWN = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>';

/**
 * A thin HTTP proxy in front of s3rver that can answer 503 SlowDown or hold requests without an
 * answer, to play an S3 that throttles or times out. Counts what it refused.
 */
export async function startFaultProxy(target: string) {
  let mode: FaultMode = "pass";
  const held = new Set<ServerResponse>();
  const counts = { passed: 0, slowedDown: 0, held: 0 };
  const upstream = new URL(target);

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    if (mode === "slowdown") {
      counts.slowedDown += 1;
      request.resume();
      response.writeHead(503, { "content-type": "application/xml" });
      response.end(SLOW_DOWN);
      return;
    }
    if (mode === "hang") {
      counts.held += 1;
      request.resume();
      held.add(response);
      response.on("close", () => held.delete(response));
      return;
    }
    counts.passed += 1;
    const forward = httpRequest(
      { hostname: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forward.on("error", () => response.destroy());
    request.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts,
    setMode(next: FaultMode): void {
      mode = next;
      if (next !== "hang") for (const response of held) response.destroy();
    },
    async stop(): Promise<void> {
      for (const response of held) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
