import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type FaultMode = "pass" | "slowdown" | "hang";

export interface ThrottleAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** S3's throttling answer. */
export const S3_SLOW_DOWN: ThrottleAnswer = {
  status: 503,
  headers: { "content-type": "application/xml" },
  body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
};

/** Azure Blob Storage's throttling answer (Azurite never throttles). */
export const AZURE_SERVER_BUSY: ThrottleAnswer = {
  status: 503,
  headers: { "content-type": "application/xml", "x-ms-error-code": "ServerBusy" },
  body: '<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>The server is busy.\nRequestId:00000000-0000-0000-0000-000000000000\nTime:2026-12-07T00:00:00.0000000Z</Message></Error>',
};

/**
 * A thin HTTP proxy in front of an object store (s3rver, Azurite) that can answer with the store's
 * throttling error (`throttle`, default S3's 503 SlowDown) or hold requests without an answer, to
 * play a store that throttles or times out. Counts what it refused.
 */
export async function startFaultProxy(target: string, throttle: ThrottleAnswer = S3_SLOW_DOWN) {
  let mode: FaultMode = "pass";
  const held = new Set<ServerResponse>();
  const counts = { passed: 0, slowedDown: 0, held: 0 };
  const upstream = new URL(target);

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    if (mode === "slowdown") {
      counts.slowedDown += 1;
      request.resume();
      response.writeHead(throttle.status, throttle.headers);
      response.end(throttle.body);
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
