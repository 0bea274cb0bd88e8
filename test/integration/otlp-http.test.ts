import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gzipSync } from "node:zlib";
import { ExportTraceServiceResponse, RpcStatus } from "../../src/otlp/schema.js";
import { basicAuth, TEST_KEYS } from "../support/daemon.js";
import { CHILD_SPAN_ID, resourceSpans, ROOT_SPAN_ID, span, toJson, toProtobuf } from "../support/otlp.js";
import { startStack, type TestDaemon, type TestRedis, type TestS3, type TestStack } from "../support/stack.js";

/** OTLP/HTTP against the daemon over real HTTP, with raw requests for the cases SDKs never send. */
let stack: TestStack;
let s3: TestS3;
let redis: TestRedis;
let daemon: TestDaemon;
let base: string;

beforeAll(async () => {
  stack = await startStack({ configure: (yaml) => yaml.replace("http: { endpoint: 127.0.0.1:0 }", "http: { endpoint: 127.0.0.1:0, max_request_body_size: 1MiB }") });
  ({ s3, redis, daemon } = stack);
  base = daemon.url("otlp");
});

afterAll(async () => {
  await stack?.stop();
});

let traceCounter = 0;
function uniqueTraceId(): string {
  traceCounter += 1;
  return `${Date.now().toString(16).padStart(16, "0")}${traceCounter.toString(16).padStart(16, "0")}`;
}

async function send(body: Buffer, contentType: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}/v1/traces`, {
    method: "POST",
    headers: { "content-type": contentType, authorization: basicAuth(), ...headers },
    body,
  });
  return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
}

describe("OTLP/HTTP receiver", () => {
  it.each(["protobuf", "json"] as const)("converts %s spans to events in S3 and jobs in Redis", async (format) => {
    const traceId = uniqueTraceId();
    const data = resourceSpans([
      span({ traceId, spanId: ROOT_SPAN_ID, name: "root", attributes: { "langfuse.trace.name": "my-trace", "user.id": "u1" } }),
      span({ traceId, spanId: CHILD_SPAN_ID, parentSpanId: ROOT_SPAN_ID, name: "llm", attributes: { "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 12 } }),
    ]);
    const response =
      format === "protobuf" ? await send(toProtobuf(data), "application/x-protobuf") : await send(toJson(data), "application/json");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe(format === "protobuf" ? "application/x-protobuf" : "application/json");
    if (format === "protobuf") expect(ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(response.body))).toEqual({});
    else expect(JSON.parse(response.body.toString())).toEqual({});

    const prefix = `events/${TEST_KEYS.projectId}/`;
    const traceKeys = await s3.listKeys(`${prefix}trace/${traceId}/`);
    expect(traceKeys).toHaveLength(1);
    const [traceEvent] = await s3.getJson<Array<{ type: string; body: Record<string, unknown> }>>(traceKeys[0]!);
    expect(traceEvent).toMatchObject({ type: "trace-create", body: { id: traceId, name: "my-trace", userId: "u1", environment: "default" } });

    const generationKeys = await s3.listKeys(`${prefix}observation/${CHILD_SPAN_ID}/`);
    const generations = await Promise.all(generationKeys.map((key) => s3.getJson<Array<{ type: string; body: Record<string, unknown> }>>(key)));
    const generation = generations.flat().find((event) => event.body.traceId === traceId)!;
    expect(generation).toMatchObject({
      type: "generation-create",
      body: { id: CHILD_SPAN_ID, traceId, parentObservationId: ROOT_SPAN_ID, model: "gpt-4o", usageDetails: { input: 12 }, startTime: "2023-11-14T22:13:20.000Z", endTime: "2023-11-14T22:13:21.500Z" },
    });

    const jobs = (await redis.jobs()).filter(
      (job) => job.data.payload.data.eventBodyId === traceId || job.data.payload.data.bucketPrefix.includes(`/${CHILD_SPAN_ID}/`),
    );
    const traceJob = jobs.find((job) => job.data.payload.data.type === "trace-create")!;
    // OTLP follows Langfuse's OTel path: no delay, observations read by key (skipS3List), traces listed.
    expect(traceJob.opts.delay ?? 0).toBe(0);
    expect(traceJob.data.payload.data).toMatchObject({ skipS3List: false, ingestionSdkName: "unknown" });
    expect(traceJob.data.payload.authCheck).toEqual({ validKey: true, scope: { projectId: TEST_KEYS.projectId, accessLevel: "project", orgId: "org-test" } });
    const generationJob = jobs.find((job) => job.data.payload.data.type === "generation-create")!;
    expect(generationJob.data.payload.data).toMatchObject({ eventBodyId: CHILD_SPAN_ID, skipS3List: true, bucketPrefix: `${prefix}observation/${CHILD_SPAN_ID}/` });
  });

  it("converts each of many concurrent large protobuf exports from its own bytes, though their bodies share reused buffers", async () => {
    // As on the raw path: bodies over 64 KB are read into reused buffers, and the second round of
    // concurrent requests reuses the first's. Each observation must carry its own request's input.
    const sent: Array<{ spanId: string; input: string }> = [];
    for (let round = 0; round < 2; round += 1) {
      const requests = Array.from({ length: 6 }, (_, index) => {
        const traceId = uniqueTraceId();
        const spans = Array.from({ length: 8 }, (_, n) => {
          const spanId = `${(round * 100 + index).toString(16).padStart(8, "0")}${n.toString(16).padStart(8, "0")}`;
          const input = `${spanId}:${"x".repeat(12 * 1024)}`;
          sent.push({ spanId, input });
          return span({ traceId, spanId, name: `op-${n}`, attributes: { "langfuse.observation.input": input } });
        });
        return toProtobuf(resourceSpans(spans));
      });
      const statuses = await Promise.all(
        requests.map(async (body, index) => {
          expect(body.length).toBeGreaterThan(64 * 1024);
          return (await send(index % 2 === 0 ? body : gzipSync(body), "application/x-protobuf", index % 2 === 0 ? {} : { "content-encoding": "gzip" })).status;
        }),
      );
      expect(statuses).toEqual(requests.map(() => 200));
    }
    for (const { spanId, input } of sent) {
      const keys = await s3.listKeys(`events/${TEST_KEYS.projectId}/observation/${spanId}/`);
      expect(keys).toHaveLength(1);
      const [event] = await s3.getJson<Array<{ body: { input: unknown } }>>(keys[0]!);
      expect(event!.body.input).toBe(input);
    }
  });

  it("accepts gzip and refuses a gzip body that inflates past the limit with 413", async () => {
    const traceId = uniqueTraceId();
    const ok = await send(gzipSync(toProtobuf(resourceSpans([span({ traceId })]))), "application/x-protobuf", { "content-encoding": "gzip" });
    expect(ok.status).toBe(200);
    expect(await s3.listKeys(`events/${TEST_KEYS.projectId}/trace/${traceId}/`)).toHaveLength(1);

    const bomb = gzipSync(toJson(resourceSpans([span({ attributes: { big: "x".repeat(4 * 1024 * 1024) } })])));
    expect(bomb.length).toBeLessThan(50_000);
    const refused = await send(bomb, "application/json", { "content-encoding": "gzip" });
    expect(refused.status).toBe(413);
    expect(JSON.parse(refused.body.toString())).toMatchObject({ code: 8, message: expect.stringContaining("limit") });
  });

  it("refuses a plain body over the limit with 413", async () => {
    const response = await send(Buffer.alloc(2 * 1024 * 1024, 0x20), "application/json");
    expect(response.status).toBe(413);
  });

  it("answers 400 with a google.rpc.Status in the request's encoding for undecodable bodies", async () => {
    const protobuf = await send(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]), "application/x-protobuf");
    expect(protobuf.status).toBe(400);
    expect(protobuf.headers.get("content-type")).toBe("application/x-protobuf");
    expect(RpcStatus.toObject(RpcStatus.decode(protobuf.body))).toMatchObject({ code: 3, message: expect.stringContaining("cannot decode") });

    const json = await send(Buffer.from("{nope"), "application/json");
    expect(json.status).toBe(400);
    expect(JSON.parse(json.body.toString())).toMatchObject({ code: 3, message: expect.stringContaining("cannot parse") });
  });

  it("answers 401 for wrong credentials and 415 for other content types", async () => {
    const body = toJson(resourceSpans([span()]));
    const unauthorised = await send(body, "application/json", { authorization: basicAuth(TEST_KEYS.publicKey, "nope") });
    expect(unauthorised.status).toBe(401);
    expect(JSON.parse(unauthorised.body.toString())).toMatchObject({ code: 16 });
    const missing = await fetch(`${base}/v1/traces`, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(missing.status).toBe(401);
    expect((await send(body, "text/plain")).status).toBe(415);
  });

  it("answers success for an empty export", async () => {
    const response = await send(toJson([]), "application/json");
    expect(response.status).toBe(200);
  });

  it("lands the valid spans of a request and reports the invalid ones as partial success", async () => {
    const traceId = uniqueTraceId();
    const good = span({ traceId, spanId: "1111111111111111", name: "good" });
    const noTraceId = { ...span({ spanId: "2222222222222222" }), traceId: undefined };
    const badPrompt = span({
      traceId,
      spanId: "3333333333333333",
      parentSpanId: "1111111111111111",
      attributes: { "langfuse.observation.type": "generation", "langfuse.observation.prompt.name": "p", "langfuse.observation.prompt.version": "not-a-number" },
    });
    const response = await send(toJson(resourceSpans([good, noTraceId, badPrompt])), "application/json");
    expect(response.status).toBe(200);
    const body = JSON.parse(response.body.toString()) as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
    expect(body.partialSuccess.rejectedSpans).toBe("2");
    expect(body.partialSuccess.errorMessage).toMatch(/^2 of 3 spans rejected: span #1: .*traceId.*; span #2: Invalid request data/);

    const prefix = `events/${TEST_KEYS.projectId}/`;
    expect(await s3.listKeys(`${prefix}trace/${traceId}/`)).toHaveLength(1);
    const good1 = await s3.listKeys(`${prefix}observation/1111111111111111/`);
    expect(good1.length).toBeGreaterThanOrEqual(1);
    expect(await s3.listKeys(`${prefix}observation/3333333333333333/`)).toEqual([]);
  });
});

describe("OTLP/HTTP body limits with chunked bodies", () => {
  it("answers 413 to a chunked body (no Content-Length) that passes the limit, instead of dropping the connection", async () => {
    const chunk = new Uint8Array(256 * 1024).fill(0x20);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 8) return controller.close();
        sent += 1;
        controller.enqueue(chunk);
      },
    });
    const response = await fetch(`${base}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: basicAuth() },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(response.headers.get("connection")).toBe("close");
  });
});
