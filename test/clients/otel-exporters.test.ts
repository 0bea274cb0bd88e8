import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Metadata } from "@grpc/grpc-js";
import { context, SpanStatusCode, trace } from "@opentelemetry/api";
import { OTLPTraceExporter as GrpcExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtoExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { basicAuth, TEST_KEYS } from "../support/daemon.js";
import { startStack, type StoredEvent, type TestDaemon, type TestRedis, type TestStack } from "../support/stack.js";

/**
 * The real OpenTelemetry JS exporters, one per wire format, send a small LLM trace; the test
 * reads back what landed in S3 and Redis.
 */
let stack: TestStack;
let redis: TestRedis;
let daemon: TestDaemon;

beforeAll(async () => {
  stack = await startStack();
  ({ redis, daemon } = stack);
});

afterAll(async () => {
  await stack?.stop();
});


async function sendTrace(exporter: SpanExporter, label: string): Promise<{ traceId: string; rootId: string; llmId: string }> {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": `svc-${label}`, "deployment.environment.name": "Staging" }),
    // Batched, as applications run it: both spans travel in one request.
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer("my-lib", "1.0");
  const ids = await tracer.startActiveSpan(`request-${label}`, async (root) => {
    root.setAttributes({ "langfuse.trace.name": `trace-${label}`, "user.id": "user-1", "session.id": "session-1", "langfuse.trace.tags": ["a", "b"] });
    // No global context manager is registered, so the parent is passed explicitly.
    const llm = tracer.startSpan("chat gpt-4o", {}, trace.setSpan(context.active(), root));
    llm.setAttributes({
      "gen_ai.operation.name": "chat",
      "gen_ai.request.model": "gpt-4o",
      "gen_ai.request.temperature": 0.2,
      "gen_ai.usage.input_tokens": 12,
      "gen_ai.usage.output_tokens": 7,
      "gen_ai.input.messages": JSON.stringify([{ role: "user", content: "hi" }]),
      "gen_ai.output.messages": JSON.stringify([{ role: "assistant", content: "hello" }]),
    });
    llm.setStatus({ code: SpanStatusCode.ERROR, message: "rate limited" });
    llm.end();
    root.end();
    return { traceId: root.spanContext().traceId, rootId: root.spanContext().spanId, llmId: llm.spanContext().spanId };
  });
  await provider.forceFlush();
  await provider.shutdown();
  return ids;
}

const eventsUnder = (prefix: string): Promise<StoredEvent[]> => stack.eventsUnder(prefix);

async function assertLanded(ids: { traceId: string; rootId: string; llmId: string }, label: string): Promise<void> {
  const prefix = `events/${TEST_KEYS.projectId}/`;
  // One trace-create: the child's shallow one is dropped because the root's full one is in the same request.
  const traces = await eventsUnder(`${prefix}trace/${ids.traceId}/`);
  expect(traces).toHaveLength(1);
  expect(traces[0]!.body).toMatchObject({
    id: ids.traceId,
    name: `trace-${label}`,
    userId: "user-1",
    sessionId: "session-1",
    tags: ["a", "b"],
    environment: "staging",
  });
  const [root] = await eventsUnder(`${prefix}observation/${ids.rootId}/`);
  expect(root).toMatchObject({ type: "span-create", body: { id: ids.rootId, traceId: ids.traceId, parentObservationId: null, name: `request-${label}` } });
  const [llm] = await eventsUnder(`${prefix}observation/${ids.llmId}/`);
  expect(llm).toMatchObject({
    type: "generation-create",
    body: {
      id: ids.llmId,
      traceId: ids.traceId,
      parentObservationId: ids.rootId,
      name: "chat gpt-4o",
      model: "gpt-4o",
      modelParameters: { temperature: 0.2 },
      usageDetails: { input: 12, output: 7 },
      input: JSON.stringify([{ role: "user", content: "hi" }]),
      output: JSON.stringify([{ role: "assistant", content: "hello" }]),
      level: "ERROR",
      statusMessage: "rate limited",
      environment: "staging",
    },
  });
  // Ids: lower-case hex, whatever the wire format.
  expect(ids.traceId).toMatch(/^[0-9a-f]{32}$/);

  const jobs = (await redis.jobs()).filter((job) => job.data.payload.data.eventBodyId === ids.traceId || [ids.rootId, ids.llmId].includes(job.data.payload.data.eventBodyId));
  expect(jobs.map((job) => job.data.payload.data.type).sort()).toEqual(["generation-create", "span-create", "trace-create"]);
  for (const job of jobs) {
    expect(job.data.payload.data.skipS3List).toBe(job.data.payload.data.type !== "trace-create");
    expect(job.opts.delay ?? 0).toBe(0);
  }
}

describe("OpenTelemetry JS exporters", () => {
  it("exporter-trace-otlp-grpc (with gRPC metadata auth)", async () => {
    const metadata = new Metadata();
    metadata.set("authorization", basicAuth());
    const exporter = new GrpcExporter({ url: daemon.url("otlp", "grpc").replace("grpc://", "http://"), metadata });
    await assertLanded(await sendTrace(exporter, "grpc"), "grpc");
  });

  it("exporter-trace-otlp-grpc with gzip", async () => {
    const metadata = new Metadata();
    metadata.set("authorization", basicAuth());
    const exporter = new GrpcExporter({ url: daemon.url("otlp", "grpc").replace("grpc://", "http://"), metadata, compression: "gzip" as never });
    await assertLanded(await sendTrace(exporter, "grpc-gzip"), "grpc-gzip");
  });

  it("exporter-trace-otlp-proto", async () => {
    const exporter = new ProtoExporter({ url: `${daemon.url("otlp")}/v1/traces`, headers: { authorization: basicAuth() } });
    await assertLanded(await sendTrace(exporter, "proto"), "proto");
  });

  it("exporter-trace-otlp-proto with gzip", async () => {
    const exporter = new ProtoExporter({ url: `${daemon.url("otlp")}/v1/traces`, headers: { authorization: basicAuth() }, compression: "gzip" as never });
    await assertLanded(await sendTrace(exporter, "proto-gzip"), "proto-gzip");
  });

  it("exporter-trace-otlp-http (JSON)", async () => {
    const exporter = new JsonExporter({ url: `${daemon.url("otlp")}/v1/traces`, headers: { authorization: basicAuth() } });
    await assertLanded(await sendTrace(exporter, "json"), "json");
  });

  it("exporter-trace-otlp-proto to Langfuse's OTel path on the langfuse receiver", async () => {
    const exporter = new ProtoExporter({ url: `${daemon.url("langfuse")}/api/public/otel/v1/traces`, headers: { authorization: basicAuth() } });
    await assertLanded(await sendTrace(exporter, "langfuse-path"), "langfuse-path");
  });
});
