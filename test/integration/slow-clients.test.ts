import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "node:net";
import { startStack, type TestStack } from "../support/stack.js";
import { basicAuth } from "../support/daemon.js";
import { exportOverGrpc } from "../support/grpc.js";
import { resourceSpans, span, toProtobuf } from "../support/otlp.js";

/** Slow or silent clients cannot hold a receiver's sockets longer than the configured timeouts. */
let stack: TestStack;

beforeAll(async () => {
  stack = await startStack({
    configure: (yaml) => yaml.replace("http: { endpoint: 127.0.0.1:0 }", "http: { endpoint: 127.0.0.1:0, read_header_timeout: 300ms, read_timeout: 600ms }"),
  });
});

afterAll(async () => {
  await stack?.stop();
});

/** Opens a raw connection, writes `data`, and resolves with what the server said and how long until it closed. */
function hold(data: string): Promise<{ answer: string; closedAfterMs: number }> {
  const [host, port] = stack.daemon.url("otlp").replace("http://", "").split(":");
  return new Promise((resolve, reject) => {
    const startedAt = Date.now();
    let answer = "";
    const socket = connect({ host, port: Number(port) }, () => socket.write(data));
    socket.on("data", (chunk) => (answer += chunk.toString()));
    socket.on("error", reject);
    socket.on("close", () => resolve({ answer, closedAfterMs: Date.now() - startedAt }));
  });
}

describe("slow clients", () => {
  it("answers an oversized header set with 431 and closes, then serves the next client", async () => {
    const headers = Array.from({ length: 400 }, (_, i) => `X-Filler-${i}: ${"v".repeat(100)}\r\n`).join(""); // ~44 KB
    const { answer } = await hold(`POST /v1/traces HTTP/1.1\r\nHost: x\r\n${headers}\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 431/);
    const next = await fetch(`${stack.daemon.url("otlp")}/v1/traces`, { method: "POST", headers: { "content-type": "application/json", authorization: basicAuth() }, body: "{}" });
    expect(next.status).toBe(200); // an empty export, read and answered
  });

  it("closes a connection whose headers never finish (slowloris) after read_header_timeout", async () => {
    const { answer, closedAfterMs } = await hold("POST /v1/traces HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(closedAfterMs).toBeLessThan(5_000);
  });

  it("closes a connection whose body never arrives after read_timeout", async () => {
    const { answer, closedAfterMs } = await hold(
      `POST /v1/traces HTTP/1.1\r\nHost: x\r\nAuthorization: ${basicAuth()}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`,
    );
    expect(answer === "" || /^HTTP\/1\.1 (408|400)/.test(answer)).toBe(true);
    expect(closedAfterMs).toBeLessThan(5_000);
  });

  it("refuses a client without credentials from its headers, without waiting for its body", async () => {
    const { answer } = await hold("POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{");
    expect(answer).toMatch(/^HTTP\/1\.1 401/);
    expect(answer.toLowerCase()).toContain("connection: close");
  });
});

describe("idle gRPC connections", () => {
  it("are closed by the server after max_connection_idle", async () => {
    const idle = await startStack({ configure: (yaml) => yaml.replace("grpc: { endpoint: 127.0.0.1:0 }", "grpc: { endpoint: 127.0.0.1:0, max_connection_idle: 300ms }") });
    try {
      const { credentials, connectivityState, makeGenericClientConstructor, Metadata } = await import("@grpc/grpc-js");
      const Client = makeGenericClientConstructor({}, "TraceService");
      const client = new Client(idle.daemon.url("otlp", "grpc").replace("grpc://", ""), credentials.createInsecure());
      const channel = client.getChannel();
      await new Promise<void>((resolve) =>
        client.makeUnaryRequest(
          "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
          (value: Buffer) => value,
          (value: Buffer) => value,
          Buffer.alloc(0),
          new Metadata(),
          () => resolve(),
        ),
      );
      expect(channel.getConnectivityState(false)).toBe(connectivityState.READY);
      const startedAt = Date.now();
      // The server's GOAWAY takes the channel out of READY; wait for that state change.
      const changed = await new Promise<boolean>((resolve) => channel.watchConnectivityState(connectivityState.READY, Date.now() + 5_000, (error) => resolve(!error)));
      expect(changed).toBe(true);
      expect(channel.getConnectivityState(false)).not.toBe(connectivityState.READY);
      expect(Date.now() - startedAt).toBeLessThan(5_000);
      client.close();
    } finally {
      await idle.stop();
    }
  });
});

describe("gRPC streams left open", () => {
  it("are reset after max_connection_age plus its grace, and new calls still work", async () => {
    const aged = await startStack({
      configure: (yaml) => yaml.replace("grpc: { endpoint: 127.0.0.1:0 }", "grpc: { endpoint: 127.0.0.1:0, max_connection_age: 300ms, max_connection_age_grace: 300ms }"),
    });
    try {
      const { connect: connectHttp2 } = await import("node:http2");
      const session = connectHttp2(aged.daemon.url("otlp", "grpc").replace("grpc://", "http://"));
      session.on("error", () => {});
      // A call whose request never ends: headers and part of a message sent, the rest never.
      const stream = session.request({
        ":method": "POST",
        ":path": "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        "content-type": "application/grpc",
        te: "trailers",
      });
      stream.on("error", () => {});
      stream.write(Buffer.from([0, 0, 0, 0, 10]));
      const startedAt = Date.now();
      const closed = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 10_000);
        stream.on("close", () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      expect(closed).toBe(true);
      expect(Date.now() - startedAt).toBeLessThan(10_000);
      session.destroy();
      const result = await exportOverGrpc(aged.daemon.url("otlp", "grpc"), toProtobuf(resourceSpans([span()])), { authorization: basicAuth() });
      expect(result.code).toBe(0);
    } finally {
      await aged.stop();
    }
  });
});
