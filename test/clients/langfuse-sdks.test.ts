import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LangfuseSpanProcessor } from "@langfuse/otel";
import { propagateAttributes, setLangfuseTracerProvider, startActiveObservation, startObservation } from "@langfuse/tracing";
import { context } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { Langfuse } from "langfuse";
import { TEST_KEYS } from "../support/daemon.js";
import { startStack, type StoredEvent, type TestDaemon, type TestRedis, type TestStack } from "../support/stack.js";

/** Langfuse's own SDKs, pointed at the daemon's Langfuse API receiver instead of Langfuse. */
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


const eventsUnder = (prefix: string): Promise<StoredEvent[]> => stack.eventsUnder(prefix);

describe("@langfuse/tracing + @langfuse/otel v5", () => {
  it("sends OTLP/JSON with Basic auth to /api/public/otel/v1/traces; spans land as Langfuse events", async () => {
    const processor = new LangfuseSpanProcessor({
      publicKey: TEST_KEYS.publicKey,
      secretKey: TEST_KEYS.secretKey,
      baseUrl: daemon.url("langfuse"),
      exportMode: "immediate",
      environment: "ci",
      release: "r1",
    });
    const provider = new NodeTracerProvider({ spanProcessors: [processor] });
    setLangfuseTracerProvider(provider);
    // Trace attributes and parents propagate through the OpenTelemetry context, as in an application.
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

    const ids = await propagateAttributes({ userId: "user-1", sessionId: "sess-1", tags: ["t1"], traceName: "sdk-trace" }, async () => {
      return startActiveObservation("user-request", async (root) => {
        root.update({ input: { question: "2+2?" } });
        const generation = startObservation(
          "llm-call",
          {
            model: "gpt-4o",
            input: [{ role: "user", content: "2+2?" }],
            modelParameters: { temperature: 0.1 },
          },
          { asType: "generation" },
        );
        generation.update({ output: { role: "assistant", content: "4" }, usageDetails: { input: 10, output: 2 }, costDetails: { total: 0.001 } });
        generation.end();
        const tool = startObservation("calculator", { input: { expression: "2+2" } }, { asType: "tool" });
        tool.update({ output: { result: 4 } }).end();
        root.update({ output: { answer: 4 } });
        return { traceId: root.traceId, rootId: root.id, generationId: generation.id, toolId: tool.id };
      });
    });
    await processor.forceFlush();
    await provider.shutdown();
    setLangfuseTracerProvider(null);
    context.disable();

    const prefix = `events/${TEST_KEYS.projectId}/`;
    const [trace] = await eventsUnder(`${prefix}trace/${ids.traceId}/`);
    expect(trace).toMatchObject({
      type: "trace-create",
      body: { id: ids.traceId, name: "sdk-trace", userId: "user-1", sessionId: "sess-1", tags: ["t1"], environment: "ci", release: "r1" },
    });
    const [generation] = await eventsUnder(`${prefix}observation/${ids.generationId}/`);
    expect(generation).toMatchObject({
      type: "generation-create",
      body: {
        id: ids.generationId,
        traceId: ids.traceId,
        parentObservationId: ids.rootId,
        name: "llm-call",
        model: "gpt-4o",
        modelParameters: { temperature: 0.1 },
        usageDetails: { input: 10, output: 2 },
        costDetails: { total: 0.001 },
        input: JSON.stringify([{ role: "user", content: "2+2?" }]),
        output: JSON.stringify({ role: "assistant", content: "4" }),
        environment: "ci",
      },
    });
    // The Langfuse SDK's scope leaves raw attributes out of the metadata.
    expect((generation!.body.metadata as Record<string, unknown>).attributes).toBeUndefined();
    const [tool] = await eventsUnder(`${prefix}observation/${ids.toolId}/`);
    expect(tool).toMatchObject({ type: "tool-create", body: { name: "calculator", output: JSON.stringify({ result: 4 }) } });

    const jobs = (await redis.jobs()).filter((job) => [ids.traceId, ids.rootId, ids.generationId, ids.toolId].includes(job.data.payload.data.eventBodyId));
    // Immediate export mode sends one request per span, and each span carries the propagated trace
    // attributes, so each request has its own trace-create: 3 trace jobs and 3 observation jobs.
    expect(jobs.map((job) => job.data.payload.data.type).sort()).toEqual(["generation-create", "span-create", "tool-create", "trace-create", "trace-create", "trace-create"]);
    for (const job of jobs) {
      expect(job.data.payload.data).toMatchObject({ ingestionApiKey: TEST_KEYS.publicKey, ingestionSdkName: "javascript", ingestionSdkVersion: expect.stringMatching(/^5\./) });
    }
  });
});

describe("langfuse v3 (legacy SDK)", () => {
  it("posts batches to /api/public/ingestion and reads the 207", async () => {
    const errors: unknown[] = [];
    const langfuse = new Langfuse({ publicKey: TEST_KEYS.publicKey, secretKey: TEST_KEYS.secretKey, baseUrl: daemon.url("langfuse"), flushAt: 100 });
    langfuse.on("error", (error: unknown) => errors.push(error));
    const trace = langfuse.trace({ name: "legacy-trace", userId: "user-2", input: { q: 1 }, tags: ["legacy"] });
    const span = trace.span({ name: "retrieve", input: { q: 1 } });
    span.end({ output: { docs: 2 } });
    const generation = trace.generation({ name: "llm", model: "gpt-4o-mini", input: [{ role: "user", content: "hi" }], usage: { input: 5, output: 3 } });
    generation.end({ output: "hello" });
    trace.score({ name: "quality", value: 1 });
    await langfuse.flushAsync();
    await langfuse.shutdownAsync();
    expect(errors).toEqual([]);

    const prefix = `events/${TEST_KEYS.projectId}/`;
    const traces = await eventsUnder(`${prefix}trace/${trace.id}/`);
    expect(traces[0]).toMatchObject({ type: "trace-create", body: { id: trace.id, name: "legacy-trace", userId: "user-2", tags: ["legacy"], environment: "default" } });
    const spanEvents = await eventsUnder(`${prefix}observation/${span.id}/`);
    expect(spanEvents.map((event) => event.type)).toEqual(["span-create", "span-update"]);
    const generationEvents = await eventsUnder(`${prefix}observation/${generation.id}/`);
    expect(generationEvents.map((event) => event.type)).toEqual(["generation-create", "generation-update"]);
    expect(generationEvents[0]!.body).toMatchObject({ model: "gpt-4o-mini", usage: { input: 5, output: 3 } });
    const scores = await eventsUnder(`${prefix}score/`);
    expect(scores.some((event) => event.body.traceId === trace.id && event.body.name === "quality" && event.body.source === "API")).toBe(true);

    const jobs = (await redis.jobs()).filter((job) => job.data.payload.data.eventBodyId === trace.id);
    expect(jobs[0]!.data.payload.data).toMatchObject({ type: "trace-create", ingestionSdkName: "langfuse-js", ingestionSdkVersion: "3.39.2", skipS3List: false });
  });
});
