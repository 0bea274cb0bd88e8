import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { embed, embedMany, generateObject, generateText, simulateReadableStream, stepCountIs, streamText, tool } from "ai";
import { MockEmbeddingModelV3, MockLanguageModelV3 } from "ai/test";
import { z } from "zod";
import { context, type Tracer } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { basicAuth, TEST_KEYS } from "../support/daemon.js";
import { startStack, type StoredEvent, type TestStack } from "../support/stack.js";

/**
 * The Vercel AI SDK (`ai` 6) with its mock models and `experimental_telemetry`, exported the way
 * an application does it: an OTel `NodeTracerProvider` with a `BatchSpanProcessor` and the OTLP
 * protobuf exporter pointed at the daemon. Each test flushes once, so its spans travel in one
 * request. An in-memory exporter on the same provider gives the span ids and the few values that
 * depend on timing (stream start, ms to first chunk).
 */
let stack: TestStack;

beforeAll(async () => {
  stack = await startStack();
  // The AI SDK nests its spans through the active OTel context, as in an application.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});

afterAll(async () => {
  context.disable();
  await stack?.stop();
});

const PREFIX = `events/${TEST_KEYS.projectId}/`;

/** The nine keys the AI SDK model parameters always have (mapping §8.1 step 3). */
const AI_SDK_PARAMETER_KEYS = ["maxSteps", "toolChoice", "maxTokens", "finishReason", "system", "maxRetries", "mode", "temperature", "service_tier"];

const METADATA = { userId: "user-9", sessionId: "session-9", tags: ["weather", "beta"], tenant: "acme" };

function telemetry(tracer: Tracer, functionId: string, extraMetadata: Record<string, string> = {}) {
  return { isEnabled: true, functionId, tracer, metadata: { ...METADATA, ...extraMetadata } };
}

/**
 * Runs `run` with a provider exporting to the daemon, waits until `roots` root spans have ended
 * (streamText ends its root span after the text promise resolves), then flushes once.
 */
async function exportSpans(roots: number, run: (tracer: Tracer) => Promise<void>): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  let rootsEnded!: () => void;
  const allRootsEnded = new Promise<void>((resolve) => (rootsEnded = resolve));
  let ended = 0;
  const rootWatcher: SpanProcessor = {
    onStart: () => {},
    onEnd: (span) => {
      if (span.parentSpanContext === undefined && ++ended === roots) rootsEnded();
    },
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": "vercel-ai-app", "deployment.environment.name": "Production" }),
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: `${stack.daemon.url("otlp")}/v1/traces`, headers: { authorization: basicAuth() } })),
      new SimpleSpanProcessor(memory),
      rootWatcher,
    ],
  });
  try {
    await run(provider.getTracer("ai"));
    await allRootsEnded;
    await provider.forceFlush();
    return memory.getFinishedSpans();
  } finally {
    await provider.shutdown();
  }
}

function spansNamed(spans: ReadableSpan[], name: string): ReadableSpan[] {
  return spans.filter((span) => span.name === name);
}

function onlySpan(spans: ReadableSpan[], name: string): ReadableSpan {
  const found = spansNamed(spans, name);
  expect(found, `spans named ${name}`).toHaveLength(1);
  return found[0]!;
}

const idOf = (span: ReadableSpan): string => span.spanContext().spanId;
const startMs = (span: ReadableSpan): number => span.startTime[0] * 1000 + Math.floor(span.startTime[1] / 1e6);

async function observationEvent(span: ReadableSpan): Promise<StoredEvent> {
  const events = await stack.eventsUnder(`${PREFIX}observation/${idOf(span)}/`);
  expect(events, `events of ${span.name}`).toHaveLength(1);
  return events[0]!;
}

/**
 * Every trace-create of a trace. The root span gives the full one; each child carries the
 * `ai.telemetry.metadata.userId/sessionId/tags` trace attributes and so adds a trace update.
 */
async function traceEvents(traceId: string, spanCount: number): Promise<{ full: StoredEvent; updates: StoredEvent[] }> {
  const events = await stack.eventsUnder(`${PREFIX}trace/${traceId}/`);
  expect(events.map((event) => event.type)).toEqual(Array(spanCount).fill("trace-create"));
  // Only the full body of a root span has a name: trace updates take it from langfuse.trace.name only.
  const full = events.filter((event) => event.body.name !== undefined);
  expect(full).toHaveLength(1);
  for (const event of events) {
    expect(event.body).toMatchObject({ id: traceId, userId: "user-9", sessionId: "session-9", tags: ["weather", "beta"], environment: "production" });
    expect(event.body.metadata).toMatchObject({ tenant: "acme" });
  }
  return { full: full[0]!, updates: events.filter((event) => event !== full[0]) };
}

async function jobTypes(spans: ReadableSpan[]): Promise<string[]> {
  const ids = new Set([spans[0]!.spanContext().traceId, ...spans.map(idOf)]);
  const jobs = (await stack.redis.jobs()).filter((job) => ids.has(job.data.payload.data.eventBodyId));
  return jobs.map((job) => job.data.payload.data.type as string).sort();
}

function usage(input: number, output: number) {
  return {
    inputTokens: { total: input, noCache: input, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: output, text: output, reasoning: undefined },
  };
}

describe("Vercel AI SDK 6 telemetry → daemon", () => {
  it("generateText with a tool: outer span, generation per step, tool call", async () => {
    const model = new MockLanguageModelV3({
      provider: "mock-provider",
      modelId: "mock-model",
      doGenerate: [
        {
          content: [
            { type: "text", text: "Let me check." },
            { type: "tool-call", toolCallId: "call-1", toolName: "weather", input: JSON.stringify({ city: "Paris" }) },
          ],
          finishReason: { unified: "tool-calls", raw: "tool_calls" },
          usage: usage(10, 5),
          warnings: [],
          response: { id: "resp-1", modelId: "mock-model-2025-01", timestamp: new Date(0) },
        },
        {
          content: [{ type: "text", text: "It is sunny in Paris." }],
          finishReason: { unified: "stop", raw: "stop" },
          usage: usage(20, 7),
          warnings: [],
        },
      ],
    });

    const spans = await exportSpans(1, async (tracer) => {
      const result = await generateText({
        model,
        prompt: "Weather in Paris?",
        temperature: 0.3,
        maxOutputTokens: 100,
        tools: {
          weather: tool({
            description: "Get the weather",
            inputSchema: z.object({ city: z.string() }),
            execute: async ({ city }) => ({ city, forecast: "sunny" }),
          }),
        },
        stopWhen: stepCountIs(3),
        experimental_telemetry: telemetry(tracer, "weather-fn"),
      });
      expect(result.text).toBe("It is sunny in Paris.");
    });

    const root = onlySpan(spans, "ai.generateText");
    const [step1, step2] = spansNamed(spans, "ai.generateText.doGenerate").sort(
      (a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1],
    );
    const toolCall = onlySpan(spans, "ai.toolCall");
    expect(spans).toHaveLength(4);
    const traceId = root.spanContext().traceId;

    // Outer ai.* span: a span-create named functionId:operationId.
    expect(await observationEvent(root)).toMatchObject({
      type: "span-create",
      body: {
        id: idOf(root),
        traceId,
        parentObservationId: null,
        name: "weather-fn:ai.generateText",
        input: JSON.stringify({ prompt: "Weather in Paris?" }),
        output: "It is sunny in Paris.",
        environment: "production",
        metadata: { tenant: "acme", scope: { name: "ai" } },
      },
    });

    // Step 1: text and tool calls together become one assistant message (a JSON string).
    const first = await observationEvent(step1!);
    expect(first).toMatchObject({
      type: "generation-create",
      body: {
        parentObservationId: idOf(root),
        name: "weather-fn:ai.generateText.doGenerate",
        // gen_ai.response.model wins over ai.model.id.
        model: "mock-model-2025-01",
        // ai.usage.totalTokens is not read; only the legacy ai.usage.tokens gives a total.
        usageDetails: { input: 10, output: 5 },
        modelParameters: {
          maxSteps: null,
          toolChoice: JSON.stringify({ type: "auto" }),
          maxTokens: "100",
          finishReason: "tool-calls",
          system: "mock-provider",
          maxRetries: "2",
          mode: null,
          temperature: "0.3",
          service_tier: null,
        },
        completionStartTime: null,
        metadata: { tenant: "acme" },
      },
    });
    expect(Object.keys(first.body.modelParameters as object).sort()).toEqual([...AI_SDK_PARAMETER_KEYS].sort());
    expect(first.body.usageDetails).not.toHaveProperty("total");
    expect(typeof first.body.output).toBe("string");
    const assistant = JSON.parse(first.body.output as string) as { role: string; content: string; tool_calls: string };
    expect(assistant).toMatchObject({ role: "assistant", content: "Let me check." });
    expect(JSON.parse(assistant.tool_calls)).toMatchObject([{ toolCallId: "call-1", toolName: "weather" }]);
    // The offered tools (ai.prompt.tools) move from metadata into the input, next to the messages.
    expect(first.body.input).toMatchObject({
      messages: [{ role: "user", content: [{ type: "text", text: "Weather in Paris?" }] }],
      tools: [{ type: "function", name: "weather", description: "Get the weather" }],
    });
    const attributes = (first.body.metadata as { attributes: Record<string, unknown> }).attributes;
    expect(attributes).not.toHaveProperty("ai.prompt.tools");
    expect(attributes).not.toHaveProperty("ai.prompt.messages");
    expect(attributes).toMatchObject({ "ai.model.id": "mock-model", "gen_ai.request.temperature": "0.3" });
    expect(Object.keys(attributes).some((key) => key.startsWith("ai.telemetry.metadata."))).toBe(false);

    // Step 2 sees the tool result and answers with text.
    const second = await observationEvent(step2!);
    expect(second).toMatchObject({
      type: "generation-create",
      body: {
        parentObservationId: idOf(root),
        model: "mock-model",
        usageDetails: { input: 20, output: 7 },
        output: "It is sunny in Paris.",
        modelParameters: { finishReason: "stop", temperature: "0.3" },
      },
    });
    const secondInput = second.body.input as { messages: Array<{ role: string }> };
    expect(secondInput.messages.map((message) => message.role)).toEqual(["user", "assistant", "tool"]);

    // The tool call: tool-create named after the tool; AI-SDK scope gives it usage {0, 0} and
    // the nine model parameters, all null (mapping §12 case 28).
    expect(await observationEvent(toolCall)).toMatchObject({
      type: "tool-create",
      body: {
        parentObservationId: idOf(root),
        name: "weather",
        input: JSON.stringify({ city: "Paris" }),
        output: JSON.stringify({ city: "Paris", forecast: "sunny" }),
        usageDetails: { input: 0, output: 0 },
        modelParameters: Object.fromEntries(AI_SDK_PARAMETER_KEYS.map((key) => [key, null])),
      },
    });

    const { full, updates } = await traceEvents(traceId, 4);
    expect(full.body).toMatchObject({
      name: "weather-fn:ai.generateText",
      input: JSON.stringify({ prompt: "Weather in Paris?" }),
      output: "It is sunny in Paris.",
    });
    for (const update of updates) {
      expect(update.body).not.toHaveProperty("input");
      expect(update.body.metadata).not.toHaveProperty("attributes");
    }

    expect(await jobTypes(spans)).toEqual(["generation-create", "generation-create", "span-create", "tool-create", "trace-create"]);
  });

  it("a failing tool call is a tool-create with level ERROR and the error message", async () => {
    const model = new MockLanguageModelV3({
      provider: "mock-provider",
      modelId: "mock-model",
      doGenerate: [
        {
          content: [{ type: "tool-call", toolCallId: "call-9", toolName: "geocode", input: JSON.stringify({ city: "Atlantis" }) }],
          finishReason: { unified: "tool-calls", raw: "tool_calls" },
          usage: usage(6, 4),
          warnings: [],
        },
        {
          content: [{ type: "text", text: "I could not find Atlantis." }],
          finishReason: { unified: "stop", raw: "stop" },
          usage: usage(9, 6),
          warnings: [],
        },
      ],
    });

    const spans = await exportSpans(1, async (tracer) => {
      const result = await generateText({
        model,
        prompt: "Where is Atlantis?",
        tools: {
          geocode: tool({
            inputSchema: z.object({ city: z.string() }),
            execute: async (): Promise<{ lat: number }> => {
              throw new Error("geocoder unavailable");
            },
          }),
        },
        stopWhen: stepCountIs(2),
        experimental_telemetry: telemetry(tracer, "geo-fn"),
      });
      expect(result.text).toBe("I could not find Atlantis.");
    });

    const toolCall = onlySpan(spans, "ai.toolCall");
    const event = await observationEvent(toolCall);
    expect(event).toMatchObject({
      type: "tool-create",
      body: {
        name: "geocode",
        input: JSON.stringify({ city: "Atlantis" }),
        level: "ERROR",
        statusMessage: "geocoder unavailable",
      },
    });
    // No result was recorded; the exception span event is not an output source.
    expect(event.body.output ?? null).toBeNull();
    for (const span of spansNamed(spans, "ai.generateText.doGenerate")) {
      expect((await observationEvent(span)).body).toMatchObject({ level: "DEFAULT", statusMessage: null });
    }
  });

  it("streamText: doStream is a generation with a completion start time and usage details", async () => {
    const model = new MockLanguageModelV3({
      provider: "mock-provider",
      modelId: "mock-stream",
      doStream: async () => ({
        stream: simulateReadableStream({
          // Time to the first chunk, as a model would take.
          initialDelayInMs: 25,
          chunkDelayInMs: null,
          chunks: [
            { type: "stream-start", warnings: [] },
            { type: "response-metadata", id: "stream-1", modelId: "mock-stream-001", timestamp: new Date(0) },
            { type: "text-start", id: "t1" },
            { type: "text-delta", id: "t1", delta: "Hello" },
            { type: "text-delta", id: "t1", delta: ", world" },
            { type: "text-end", id: "t1" },
            {
              type: "finish",
              finishReason: { unified: "stop", raw: "stop" },
              usage: {
                inputTokens: { total: 12, noCache: 9, cacheRead: 3, cacheWrite: undefined },
                outputTokens: { total: 8, text: 6, reasoning: 2 },
              },
              providerMetadata: { openai: { serviceTier: "flex" } },
            },
          ],
        }),
      }),
    });

    const spans = await exportSpans(1, async (tracer) => {
      const result = streamText({ model, prompt: "Say hello", experimental_telemetry: telemetry(tracer, "stream-fn") });
      expect(await result.text).toBe("Hello, world");
    });

    const root = onlySpan(spans, "ai.streamText");
    const doStream = onlySpan(spans, "ai.streamText.doStream");
    const msToFirstChunk = doStream.attributes["ai.response.msToFirstChunk"];
    expect(typeof msToFirstChunk).toBe("number");
    const expectedCompletionStart = new Date(startMs(doStream) + Math.ceil(msToFirstChunk as number)).toISOString();

    const generation = await observationEvent(doStream);
    expect(generation).toMatchObject({
      type: "generation-create",
      body: {
        parentObservationId: idOf(root),
        name: "stream-fn:ai.streamText.doStream",
        model: "mock-stream-001",
        completionStartTime: expectedCompletionStart,
        input: JSON.stringify([{ role: "user", content: [{ type: "text", text: "Say hello" }] }]),
        output: "Hello, world",
        // Cached input and reasoning output are split out of input and output.
        usageDetails: { input: 9, output: 6, input_cached_tokens: 3, output_reasoning_tokens: 2 },
        modelParameters: { finishReason: "stop", system: "mock-provider", service_tier: "flex", toolChoice: null, temperature: null },
      },
    });
    expect(Object.keys(generation.body.modelParameters as object).sort()).toEqual([...AI_SDK_PARAMETER_KEYS].sort());
    expect(Date.parse(generation.body.completionStartTime as string) - Date.parse(generation.body.startTime as string)).toBeGreaterThanOrEqual(25);

    expect(await observationEvent(root)).toMatchObject({
      type: "span-create",
      body: { parentObservationId: null, name: "stream-fn:ai.streamText", output: "Hello, world" },
    });
    const { full } = await traceEvents(root.spanContext().traceId, 2);
    expect(full.body).toMatchObject({ name: "stream-fn:ai.streamText", output: "Hello, world" });
    expect(await jobTypes(spans)).toEqual(["generation-create", "span-create", "trace-create"]);
  });

  it("generateObject with a zod schema: the object is the output, the prompt is linked", async () => {
    const model = new MockLanguageModelV3({
      provider: "mock-provider",
      modelId: "mock-object",
      doGenerate: {
        content: [{ type: "text", text: JSON.stringify({ name: "Ada", age: 36 }) }],
        finishReason: { unified: "stop", raw: "stop" },
        usage: usage(8, 6),
        warnings: [],
      },
    });

    const spans = await exportSpans(1, async (tracer) => {
      const result = await generateObject({
        model,
        schema: z.object({ name: z.string(), age: z.number() }),
        prompt: "Invent a person.",
        // Langfuse prompt linking for the AI SDK: the prompt (as its JSON) in the telemetry metadata.
        experimental_telemetry: telemetry(tracer, "object-fn", {
          langfusePrompt: JSON.stringify({ name: "person-prompt", version: 4, isFallback: false }),
        }),
      });
      expect(result.object).toEqual({ name: "Ada", age: 36 });
    });

    const root = onlySpan(spans, "ai.generateObject");
    const doGenerate = onlySpan(spans, "ai.generateObject.doGenerate");
    expect(await observationEvent(doGenerate)).toMatchObject({
      type: "generation-create",
      body: {
        parentObservationId: idOf(root),
        name: "object-fn:ai.generateObject.doGenerate",
        model: "mock-object",
        usageDetails: { input: 8, output: 6 },
        input: JSON.stringify([{ role: "user", content: [{ type: "text", text: "Invent a person." }] }]),
        output: JSON.stringify({ name: "Ada", age: 36 }),
        modelParameters: { finishReason: "stop", system: "mock-provider", maxRetries: "2" },
        promptName: "person-prompt",
        promptVersion: 4,
      },
    });
    const outer = await observationEvent(root);
    expect(outer).toMatchObject({
      type: "span-create",
      body: {
        name: "object-fn:ai.generateObject",
        input: JSON.stringify({ prompt: "Invent a person." }),
        output: JSON.stringify({ name: "Ada", age: 36 }),
      },
    });
    // The JSON schema is not an input/output source: it stays in the metadata.
    const schema = (outer.body.metadata as { attributes: Record<string, string> }).attributes["ai.schema"];
    expect(JSON.parse(schema!)).toMatchObject({ type: "object", required: ["name", "age"] });

    const { full, updates } = await traceEvents(root.spanContext().traceId, 2);
    expect(full.body).toMatchObject({ name: "object-fn:ai.generateObject", output: JSON.stringify({ name: "Ada", age: 36 }) });
    // langfusePrompt is a reserved metadata key: it links the prompt and is not copied into metadata.
    for (const event of [full, ...updates, outer]) expect(event.body.metadata).not.toHaveProperty("langfusePrompt");
    expect(await jobTypes(spans)).toEqual(["generation-create", "span-create", "trace-create"]);
  });

  it("embed and embedMany: doEmbed spans are embeddings", async () => {
    const model = new MockEmbeddingModelV3({
      provider: "mock-embeddings",
      modelId: "mock-embed-small",
      maxEmbeddingsPerCall: 2,
      doEmbed: async ({ values }) => ({
        embeddings: values.map((_, index) => [index, 0.5]),
        usage: { tokens: values.length * 3 },
        warnings: [],
      }),
    });

    const embedSpans = await exportSpans(2, async (tracer) => {
      await embed({ model, value: "hello", experimental_telemetry: telemetry(tracer, "embed-fn") });
      // Three values, two per call: two doEmbed spans under one embedMany.
      const many = await embedMany({ model, values: ["a", "b", "c"], experimental_telemetry: telemetry(tracer, "embed-many-fn") });
      expect(many.embeddings).toHaveLength(3);
    });

    const embedRoot = onlySpan(embedSpans, "ai.embed");
    const embedCall = onlySpan(embedSpans, "ai.embed.doEmbed");
    const embedding = await observationEvent(embedCall);
    expect(embedding).toMatchObject({
      type: "embedding-create",
      body: {
        parentObservationId: idOf(embedRoot),
        name: "embed-fn:ai.embed.doEmbed",
        model: "mock-embed-small",
        // Only ai.usage.tokens is recorded for embeddings: it becomes the total.
        usageDetails: { input: 0, output: 0, total: 3 },
        modelParameters: { system: "mock-embeddings", maxRetries: "2", maxTokens: null },
      },
    });
    // The embedded values are no input/output source: they stay in metadata.attributes.
    expect(embedding.body.input ?? null).toBeNull();
    expect((embedding.body.metadata as { attributes: Record<string, unknown> }).attributes).toMatchObject({
      "ai.values": JSON.stringify([JSON.stringify("hello")]),
    });
    expect(await observationEvent(embedRoot)).toMatchObject({ type: "span-create", body: { name: "embed-fn:ai.embed", parentObservationId: null } });
    expect((await traceEvents(embedRoot.spanContext().traceId, 2)).full.body.name).toBe("embed-fn:ai.embed");

    const manyRoot = onlySpan(embedSpans, "ai.embedMany");
    const manyCalls = spansNamed(embedSpans, "ai.embedMany.doEmbed");
    expect(manyCalls).toHaveLength(2);
    const manyEvents = await Promise.all(manyCalls.map((span) => observationEvent(span)));
    for (const event of manyEvents) {
      expect(event).toMatchObject({
        type: "embedding-create",
        body: { parentObservationId: idOf(manyRoot), name: "embed-many-fn:ai.embedMany.doEmbed", model: "mock-embed-small" },
      });
    }
    expect(manyEvents.map((event) => (event.body.usageDetails as { total: number }).total).sort()).toEqual([3, 6]);
    expect(await observationEvent(manyRoot)).toMatchObject({ type: "span-create", body: { name: "embed-many-fn:ai.embedMany" } });
    expect((await traceEvents(manyRoot.spanContext().traceId, 3)).full.body.name).toBe("embed-many-fn:ai.embedMany");

    expect(await jobTypes([embedRoot, embedCall])).toEqual(["embedding-create", "span-create", "trace-create"]);
    expect(await jobTypes([manyRoot, ...manyCalls])).toEqual(["embedding-create", "embedding-create", "span-create", "trace-create"]);
  });
});
