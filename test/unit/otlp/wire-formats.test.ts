import { describe, expect, it } from "vitest";
import { context, SpanStatusCode, trace } from "@opentelemetry/api";
import { JsonTraceSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { convertResourceSpans } from "../../../src/conversion/convert.js";
import { decodeJsonTraceRequest, decodeProtobufTraceRequest } from "../../../src/otlp/codec.js";

/**
 * The same spans, serialised by the OpenTelemetry SDK's own protobuf and JSON serialisers, must
 * become the same events: ids lower-case hex on both paths, 64-bit values equal, attribute types
 * kept.
 */
async function recordSpans() {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": "svc", "service.version": "1.2.3", "deployment.environment.name": "Prod" }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer("my-lib", "1.0");
  const root = tracer.startSpan("root", { attributes: { "langfuse.trace.name": "wire", "user.id": "u", "langfuse.trace.tags": ["a", "b"] } });
  const child = tracer.startSpan(
    "chat",
    {
      attributes: {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.request.temperature": 0.5,
        "gen_ai.request.max_tokens": 9007199254740,
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 3,
        "flag.enabled": true,
        "list.numbers": [1, 2, 3],
      },
    },
    trace.setSpan(context.active(), root),
  );
  child.addEvent("gen_ai.user.message", { content: "hi" });
  child.addEvent("gen_ai.choice", { index: 0, finish_reason: "stop", message: '{"content":"yo"}' });
  child.setStatus({ code: SpanStatusCode.ERROR, message: "boom" });
  child.end();
  root.end();
  await provider.forceFlush();
  const spans = exporter.getFinishedSpans();
  await provider.shutdown();
  return spans;
}

function withoutEnvelopeNoise(events: ReturnType<typeof convertResourceSpans>["events"]) {
  return events.map(({ event, spanIndex, shallowTrace }) => ({ type: event.type, body: event.body, spanIndex, shallowTrace }));
}

describe("protobuf and JSON give the same events", () => {
  it("for spans serialised by the OpenTelemetry SDK", async () => {
    const spans = await recordSpans();
    const protobuf = decodeProtobufTraceRequest(ProtobufTraceSerializer.serializeRequest(spans)!);
    const json = decodeJsonTraceRequest(Buffer.from(JsonTraceSerializer.serializeRequest(spans)!));
    const options = { now: () => new Date("2026-01-01T00:00:00.000Z"), randomId: () => "id" };
    const fromProtobuf = convertResourceSpans(protobuf, options);
    const fromJson = convertResourceSpans(json, options);

    expect(fromProtobuf.rejectedSpans).toEqual([]);
    expect(withoutEnvelopeNoise(fromProtobuf.events)).toEqual(withoutEnvelopeNoise(fromJson.events));

    const [chat] = fromProtobuf.events.filter(({ event }) => event.type === "generation-create");
    const root = spans.find((span) => span.name === "root")!;
    expect(chat!.event.body).toMatchObject({
      traceId: root.spanContext().traceId,
      parentObservationId: root.spanContext().spanId,
      model: "gpt-4o",
      modelParameters: { temperature: 0.5, max_tokens: 9007199254740 },
      usageDetails: { input: 12, output: 3 },
      input: [{ role: "user", content: "hi" }],
      output: { index: 0, finish_reason: "stop", message: '{"content":"yo"}' },
      level: "ERROR",
      statusMessage: "boom",
      environment: "prod",
      version: "1.2.3",
    });
    expect((chat!.event.body.metadata as { attributes: Record<string, string> }).attributes).toMatchObject({
      "flag.enabled": "true",
      "list.numbers": "[1,2,3]",
    });
    const traceCreate = fromProtobuf.events.find(({ event }) => event.type === "trace-create")!;
    expect(traceCreate.event.body).toMatchObject({ id: root.spanContext().traceId, name: "wire", userId: "u", tags: ["a", "b"] });
    expect(root.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
  });
});
