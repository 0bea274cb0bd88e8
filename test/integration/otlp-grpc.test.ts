import { connect, type ClientHttp2Session } from "node:http2";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { status as grpcStatus, type ChannelOptions } from "@grpc/grpc-js";
import { ExportTraceServiceResponse } from "../../src/otlp/schema.js";
import { GRPC_RECEIVE_WINDOW_BYTES } from "../../src/receivers/otlp/grpc-flow-control.js";
import { basicAuth, TEST_KEYS } from "../support/daemon.js";
import { exportOverGrpc } from "../support/grpc.js";
import { resourceSpans, span, toProtobuf } from "../support/otlp.js";
import { startStack, type TestDaemon, type TestS3, type TestStack } from "../support/stack.js";

/** OTLP/gRPC status codes for the cases the OTLP specification names, with a raw grpc-js client. */
let stack: TestStack;
let s3: TestS3;
let daemon: TestDaemon;

beforeAll(async () => {
  stack = await startStack({ configure: (yaml) => yaml.replace("grpc: { endpoint: 127.0.0.1:0 }", "grpc: { endpoint: 127.0.0.1:0, max_recv_msg_size: 1MiB }") });
  ({ s3, daemon } = stack);
});

afterAll(async () => {
  await stack?.stop();
});

function exportRaw(body: Buffer, authorization: string | null = basicAuth(), channel: ChannelOptions = {}) {
  return exportOverGrpc(daemon.url("otlp", "grpc"), body, { authorization, channel: { "grpc.max_send_message_length": 64 * 1024 * 1024, ...channel } });
}

describe("OTLP/gRPC receiver", () => {
  it("accepts an export and answers an empty ExportTraceServiceResponse", async () => {
    const result = await exportRaw(toProtobuf(resourceSpans([span({ traceId: "000000000000000000000000000b0001" })])));
    expect(result.code).toBe(grpcStatus.OK);
    expect(ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(result.response!))).toEqual({});
    expect(await s3.listKeys(`events/${TEST_KEYS.projectId}/trace/000000000000000000000000000b0001/`)).toHaveLength(1);
  });

  it("answers UNAUTHENTICATED without or with wrong credentials", async () => {
    const body = toProtobuf(resourceSpans([span()]));
    expect((await exportRaw(body, null)).code).toBe(grpcStatus.UNAUTHENTICATED);
    const wrong = await exportRaw(body, basicAuth(TEST_KEYS.publicKey, "wrong"));
    expect(wrong.code).toBe(grpcStatus.UNAUTHENTICATED);
    expect(wrong.details).toMatch(/Invalid credentials/);
  });

  it("answers INVALID_ARGUMENT for an undecodable message", async () => {
    const result = await exportRaw(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]));
    expect(result.code).toBe(grpcStatus.INVALID_ARGUMENT);
  });

  it("answers RESOURCE_EXHAUSTED above the message limit, also for a gzip message that inflates past it", async () => {
    const big = toProtobuf(resourceSpans([span({ attributes: { big: "x".repeat(2 * 1024 * 1024) } })]));
    expect((await exportRaw(big)).code).toBe(grpcStatus.RESOURCE_EXHAUSTED);
    const compressed = await exportRaw(big, basicAuth(), { "grpc.default_compression_algorithm": 2 });
    expect(compressed.code).toBe(grpcStatus.RESOURCE_EXHAUSTED);
    // The daemon is still serving.
    const after = await exportRaw(toProtobuf(resourceSpans([span({ traceId: "000000000000000000000000000b0002" })])));
    expect(after.code).toBe(grpcStatus.OK);
  });

  it("lets a client send 4 MiB before it waits for a window update, per stream and per connection", async () => {
    // Node's HTTP/2 default is 64 KB, a quarter of one LLM-sized export: the client then stalls
    // whenever the daemon is busy. The windows are what the daemon announces to a new connection.
    const session: ClientHttp2Session = connect(daemon.url("otlp", "grpc").replace("grpc://", "http://"));
    try {
      // Node's default settings come first; the daemon sends its own and a WINDOW_UPDATE when the
      // connection opens, so both have arrived once a ping sent after the first settings is answered.
      await once(session, "remoteSettings");
      await new Promise((resolve, reject) => session.ping((error) => (error ? reject(error) : resolve(undefined))));
      expect(session.remoteSettings.initialWindowSize).toBe(GRPC_RECEIVE_WINDOW_BYTES);
      expect(session.state.remoteWindowSize).toBe(GRPC_RECEIVE_WINDOW_BYTES);
    } finally {
      session.close();
    }
  });
});
