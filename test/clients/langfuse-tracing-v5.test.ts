import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LangfuseSpanProcessor } from "@langfuse/otel";
import {
  propagateAttributes,
  setActiveTraceAsPublic,
  setActiveTraceIO,
  setLangfuseTracerProvider,
  startActiveObservation,
} from "@langfuse/tracing";
import { context, SpanStatusCode } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { TEST_KEYS } from "../support/daemon.js";
import { startStack, type StoredEvent, type TestStack } from "../support/stack.js";

/**
 * `@langfuse/tracing` + `@langfuse/otel` v5, batched as applications run them: every span of a
 * test travels in one OTLP/JSON request to the Langfuse receiver's `/api/public/otel/v1/traces`.
 * The assertions read the normalised events back from S3 (and the jobs from Redis); expected
 * values follow the OTel → Langfuse mapping for the attributes this SDK version writes.
 */
let stack: TestStack;

beforeAll(async () => {
  stack = await startStack();
  // Parents and propagated trace attributes travel through the OTel context, as in an application.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});

afterAll(async () => {
  context.disable();
  await stack?.stop();
});

const PREFIX = `events/${TEST_KEYS.projectId}/`;

/** Runs `fn` with a fresh batched Langfuse processor, then flushes it: one export request. */
async function traced<T>(options: { environment?: string; release?: string }, fn: () => Promise<T>): Promise<T> {
  const processor = new LangfuseSpanProcessor({
    publicKey: TEST_KEYS.publicKey,
    secretKey: TEST_KEYS.secretKey,
    baseUrl: stack.daemon.url("langfuse"),
    exportMode: "batched",
    ...options,
  });
  const provider = new NodeTracerProvider({ spanProcessors: [processor] });
  setLangfuseTracerProvider(provider);
  try {
    return await fn();
  } finally {
    await processor.forceFlush();
    await provider.shutdown();
    setLangfuseTracerProvider(null);
  }
}

async function traceEvents(traceId: string): Promise<StoredEvent[]> {
  return stack.eventsUnder(`${PREFIX}trace/${traceId}/`);
}

/** The single stored event of an observation (one span → one `*-create`, never an update). */
async function observationEvent(id: string): Promise<StoredEvent> {
  const events = await stack.eventsUnder(`${PREFIX}observation/${id}/`);
  expect(events, `events of observation ${id}`).toHaveLength(1);
  return events[0]!;
}

async function jobsFor(ids: string[]) {
  return (await stack.redis.jobs()).filter((job) => ids.includes(job.data.payload.data.eventBodyId));
}

describe("@langfuse/tracing v5 → daemon", () => {
  it("maps every observation type to its own *-create event under one trace", async () => {
    const ids = await traced({}, async () =>
      startActiveObservation("pipeline", async (root) => {
        root.update({ input: { question: "Where is Paris?" } });
        const children = {
          generation: root.startObservation("llm", { model: "gpt-4o-mini" }, { asType: "generation" }),
          event: root.startObservation("cache-miss", { input: { key: "paris" } }, { asType: "event" }),
          agent: root.startObservation("planner", { input: "plan" }, { asType: "agent" }),
          tool: root.startObservation("geocode", { input: { city: "Paris" } }, { asType: "tool" }),
          chain: root.startObservation("rag-chain", {}, { asType: "chain" }),
          retriever: root.startObservation("vector-search", { input: { topK: 3 } }, { asType: "retriever" }),
          evaluator: root.startObservation("faithfulness", {}, { asType: "evaluator" }),
          embedding: root.startObservation("embed-query", { model: "text-embedding-3-small" }, { asType: "embedding" }),
          guardrail: root.startObservation("pii-filter", {}, { asType: "guardrail" }),
        };
        // A plain span nested one level deeper.
        const nested = children.chain.startObservation("rerank", { input: ["d1", "d2"] });
        nested.update({ output: ["d2", "d1"] }).end();
        children.tool.update({ output: { lat: 48.85, lon: 2.35 } });
        for (const [type, observation] of Object.entries(children)) if (type !== "event") observation.end();
        root.update({ output: "In France." });
        return {
          traceId: root.traceId,
          rootId: root.id,
          nestedId: nested.id,
          children: Object.fromEntries(Object.entries(children).map(([type, observation]) => [type, observation.id])),
        };
      }),
    );

    const root = await observationEvent(ids.rootId);
    expect(root).toMatchObject({
      type: "span-create",
      body: {
        id: ids.rootId,
        traceId: ids.traceId,
        parentObservationId: null,
        name: "pipeline",
        input: JSON.stringify({ question: "Where is Paris?" }),
        output: "In France.",
        level: "DEFAULT",
        environment: "default",
      },
    });
    // A span-create keeps no generation fields (the ingestion schema strips them).
    expect(root.body).not.toHaveProperty("usageDetails");
    expect(root.body).not.toHaveProperty("model");

    const expectedNames: Record<string, string> = {
      generation: "llm",
      event: "cache-miss",
      agent: "planner",
      tool: "geocode",
      chain: "rag-chain",
      retriever: "vector-search",
      evaluator: "faithfulness",
      embedding: "embed-query",
      guardrail: "pii-filter",
    };
    for (const [type, id] of Object.entries(ids.children)) {
      const event = await observationEvent(id);
      expect(event.type, type).toBe(`${type}-create`);
      expect(event.body).toMatchObject({ id, traceId: ids.traceId, parentObservationId: ids.rootId, name: expectedNames[type] });
    }
    expect((await observationEvent(ids.children.generation!)).body.model).toBe("gpt-4o-mini");
    expect((await observationEvent(ids.children.embedding!)).body.model).toBe("text-embedding-3-small");
    expect((await observationEvent(ids.children.tool!)).body).toMatchObject({
      input: JSON.stringify({ city: "Paris" }),
      output: JSON.stringify({ lat: 48.85, lon: 2.35 }),
    });
    // An event is a point in time: the event body has a startTime and no endTime.
    const event = await observationEvent(ids.children.event!);
    expect(event.body.startTime).toEqual(expect.any(String));
    expect(event.body).not.toHaveProperty("endTime");
    expect(event.body.input).toBe(JSON.stringify({ key: "paris" }));
    expect(await observationEvent(ids.nestedId)).toMatchObject({
      type: "span-create",
      body: { parentObservationId: ids.children.chain, name: "rerank", input: '["d1","d2"]', output: '["d2","d1"]' },
    });

    // One request: only the root makes a trace-create (a full one, named after the root span, with
    // the root's input/output); the children's shallow ones are dropped by the batch dedup.
    const traces = await traceEvents(ids.traceId);
    expect(traces).toHaveLength(1);
    expect(traces[0]).toMatchObject({
      type: "trace-create",
      body: {
        id: ids.traceId,
        name: "pipeline",
        input: JSON.stringify({ question: "Where is Paris?" }),
        output: "In France.",
        tags: [],
        environment: "default",
      },
    });
    expect(traces[0]!.timestamp).toBe(root.body.startTime);

    // One job per entity: the trace, the root, nine children and the nested span.
    const jobs = await jobsFor([ids.traceId, ids.rootId, ids.nestedId, ...Object.values(ids.children)]);
    expect(jobs.map((job) => job.data.payload.data.type).sort()).toEqual(
      [
        "trace-create",
        "span-create",
        "span-create",
        ...Object.keys(ids.children).map((type) => `${type}-create`),
      ].sort(),
    );
    for (const job of jobs) {
      expect(job.data.payload.data).toMatchObject({
        ingestionApiKey: TEST_KEYS.publicKey,
        ingestionSdkName: "javascript",
        skipS3List: job.data.payload.data.type !== "trace-create",
      });
    }
  });

  it("carries trace attributes: propagateAttributes, setActiveTraceIO, public, environment, release", async () => {
    const ids = await traced({ environment: "ci", release: "r-2025.1" }, () =>
      propagateAttributes(
        {
          userId: "user-42",
          sessionId: "session-7",
          tags: ["beta", "checkout"],
          traceName: "checkout-flow",
          metadata: { tenant: "acme", region: "eu" },
          version: "app-3.1",
        },
        () =>
          startActiveObservation("handle-request", async (root) => {
            // Trace I/O differs from the root observation's own I/O.
            setActiveTraceIO({ input: { cart: 3 }, output: { ok: true } });
            setActiveTraceAsPublic();
            root.update({ input: "observation-in", output: "observation-out", metadata: { step: "entry", attempt: 2 } });
            const child = root.startObservation("charge-card", { input: { amount: 42 } }, { asType: "tool" });
            child.end();
            return { traceId: root.traceId, rootId: root.id, childId: child.id };
          }),
      ),
    );

    // The root's full trace-create and the child's trace update (it carries the propagated
    // attributes) land in one object for the trace.
    const traces = await traceEvents(ids.traceId);
    expect(traces.map((event) => event.type)).toEqual(["trace-create", "trace-create"]);
    const shared = {
      id: ids.traceId,
      name: "checkout-flow",
      userId: "user-42",
      sessionId: "session-7",
      tags: ["beta", "checkout"],
      version: "app-3.1",
      release: "r-2025.1",
      environment: "ci",
    };
    for (const trace of traces) {
      expect(trace.body).toMatchObject(shared);
      expect(trace.body.metadata).toMatchObject({ tenant: "acme", region: "eu", scope: { name: "langfuse-sdk" } });
      // Langfuse SDK scope: no raw `attributes` in metadata.
      expect(trace.body.metadata).not.toHaveProperty("attributes");
    }
    const full = traces.find((trace) => trace.body.public !== undefined);
    expect(full).toBeDefined();
    expect(full!.body).toMatchObject({
      public: true,
      input: JSON.stringify({ cart: 3 }),
      output: JSON.stringify({ ok: true }),
      // The root trace also carries the root observation's metadata.
      metadata: { step: "entry" },
    });
    const update = traces.find((trace) => trace !== full)!;
    // A trace update holds only trace attributes: no I/O, no public flag, no observation metadata.
    expect(update.body).not.toHaveProperty("input");
    expect(update.body).not.toHaveProperty("output");
    expect(update.body).not.toHaveProperty("public");
    expect(update.body.metadata).not.toHaveProperty("step");

    const root = await observationEvent(ids.rootId);
    expect(root.body).toMatchObject({
      input: "observation-in",
      output: "observation-out",
      version: "app-3.1",
      environment: "ci",
      // The SDK writes non-string metadata values as JSON text, one attribute per key; they are
      // copied raw, not parsed back.
      metadata: { step: "entry", attempt: "2" },
    });
    // Trace metadata stays on the trace.
    expect(root.body.metadata).not.toHaveProperty("tenant");
    const child = await observationEvent(ids.childId);
    expect(child).toMatchObject({
      type: "tool-create",
      body: { parentObservationId: ids.rootId, version: "app-3.1", environment: "ci", input: JSON.stringify({ amount: 42 }) },
    });

    // Two trace-create events, one entity: one blob, one job.
    const jobs = await jobsFor([ids.traceId]);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.data.payload.data).toMatchObject({ type: "trace-create", eventBodyId: ids.traceId, skipS3List: false });
  });

  it("records generation details: model, parameters, usage, cost, prompt, completion start", async () => {
    const completionStartTime = new Date("2025-03-04T05:06:07.089Z");
    const ids = await traced({}, () =>
      startActiveObservation("answer", async (root) => {
        const generation = root.startObservation(
          "chat-completion",
          {
            model: "gpt-4o-2024-08-06",
            modelParameters: { temperature: 0.2, max_tokens: 256, response_format: "json_object" },
            input: [
              { role: "system", content: "Be terse." },
              { role: "user", content: "2+2?" },
            ],
            prompt: { name: "calculator-prompt", version: 3, isFallback: false },
            version: "prompt-v3",
          },
          { asType: "generation" },
        );
        generation.update({
          completionStartTime,
          output: { role: "assistant", content: "4" },
          usageDetails: { input: 120, output: 30, total: 150, input_cached_tokens: 20 },
          costDetails: { input: 0.0012, output: 0.0006, total: 0.0018 },
        });
        generation.end();
        // A fallback prompt (prompt management unavailable) is never linked.
        const fallback = root.startObservation(
          "fallback-completion",
          { model: "gpt-4o-mini", prompt: { name: "calculator-prompt", version: 1, isFallback: true } },
          { asType: "generation" },
        );
        fallback.end();
        // OpenAI-shaped usage is converted by the ingestion schema.
        const embedding = root.startObservation(
          "embed",
          {
            model: "text-embedding-3-small",
            usageDetails: { prompt_tokens: 8, completion_tokens: 0, total_tokens: 8 },
          },
          { asType: "embedding" },
        );
        embedding.end();
        return { generationId: generation.id, fallbackId: fallback.id, embeddingId: embedding.id };
      }),
    );

    const generation = await observationEvent(ids.generationId);
    expect(generation).toMatchObject({
      type: "generation-create",
      body: {
        name: "chat-completion",
        model: "gpt-4o-2024-08-06",
        modelParameters: { temperature: 0.2, max_tokens: 256, response_format: "json_object" },
        usageDetails: { input: 120, output: 30, total: 150, input_cached_tokens: 20 },
        costDetails: { input: 0.0012, output: 0.0006, total: 0.0018 },
        promptName: "calculator-prompt",
        promptVersion: 3,
        version: "prompt-v3",
        // The SDK sends the date JSON-encoded; it is unwrapped.
        completionStartTime: "2025-03-04T05:06:07.089Z",
        input: JSON.stringify([
          { role: "system", content: "Be terse." },
          { role: "user", content: "2+2?" },
        ]),
        output: JSON.stringify({ role: "assistant", content: "4" }),
      },
    });
    expect(await observationEvent(ids.fallbackId)).toMatchObject({
      type: "generation-create",
      body: { model: "gpt-4o-mini", promptName: null, promptVersion: null },
    });
    const embedding = await observationEvent(ids.embeddingId);
    expect(embedding).toMatchObject({ type: "embedding-create", body: { model: "text-embedding-3-small" } });
    expect(embedding.body.usageDetails).toEqual({ input: 8, output: 0, total: 8 });
  });

  it("links a propagated prompt to generations only", async () => {
    const ids = await traced({}, () =>
      propagateAttributes({ prompt: { name: "shared-prompt", version: "7" } }, () =>
        startActiveObservation("workflow", async (root) => {
          const generation = root.startObservation("draft", { model: "gpt-4o" }, { asType: "generation" });
          generation.end();
          // An explicit prompt on the observation wins over the propagated one.
          const own = root.startObservation(
            "polish",
            { model: "gpt-4o", prompt: { name: "polish-prompt", version: 2, isFallback: false } },
            { asType: "generation" },
          );
          own.end();
          const tool = root.startObservation("lookup", {}, { asType: "tool" });
          tool.end();
          return { rootId: root.id, generationId: generation.id, ownId: own.id, toolId: tool.id };
        }),
      ),
    );

    expect((await observationEvent(ids.generationId)).body).toMatchObject({ promptName: "shared-prompt", promptVersion: 7 });
    expect((await observationEvent(ids.ownId)).body).toMatchObject({ promptName: "polish-prompt", promptVersion: 2 });
    // The tool carries the same attributes, but only generations get a prompt reference.
    expect(await observationEvent(ids.toolId)).toMatchObject({ type: "tool-create", body: { promptName: null, promptVersion: null } });
    const root = await observationEvent(ids.rootId);
    expect(root.type).toBe("span-create");
    expect(root.body).not.toHaveProperty("promptName");
  });

  it("maps levels and status messages, Langfuse level before OTel status", async () => {
    const ids = await traced({ environment: "ci" }, () =>
      propagateAttributes({ environment: "qa" }, () =>
        startActiveObservation("checks", async (root) => {
          const warning = root.startObservation("slow-call", { level: "WARNING", statusMessage: "upstream took 9s" });
          warning.end();
          const error = root.startObservation("failing-llm", { level: "ERROR", statusMessage: "rate limited" }, { asType: "generation" });
          error.end();
          const debug = root.startObservation("trace-detail", { level: "DEBUG" });
          debug.end();
          // Only the OTel status: code ERROR → level ERROR, the message becomes the status message.
          const otelError = root.startObservation("crashed");
          otelError.otelSpan.setStatus({ code: SpanStatusCode.ERROR, message: "TypeError: x is undefined" });
          otelError.end();
          // A Langfuse level and status message win over the OTel status.
          const both = root.startObservation("recovered", { level: "WARNING", statusMessage: "retried once" });
          both.otelSpan.setStatus({ code: SpanStatusCode.ERROR, message: "first attempt failed" });
          both.end();
          return { traceId: root.traceId, rootId: root.id, ids: [warning.id, error.id, debug.id, otelError.id, both.id] };
        }),
      ),
    );

    const events = await Promise.all(ids.ids.map((id) => observationEvent(id)));
    expect(events.map((event) => [event.body.name, event.body.level, event.body.statusMessage])).toEqual([
      ["slow-call", "WARNING", "upstream took 9s"],
      ["failing-llm", "ERROR", "rate limited"],
      ["trace-detail", "DEBUG", null],
      ["crashed", "ERROR", "TypeError: x is undefined"],
      ["recovered", "WARNING", "retried once"],
    ]);
    expect(events[1]!.type).toBe("generation-create");
    const root = await observationEvent(ids.rootId);
    expect(root.body).toMatchObject({ level: "DEFAULT", statusMessage: null });
    // The propagated environment overrides the processor's default, on observations and the trace.
    for (const event of [root, ...events]) expect(event.body.environment).toBe("qa");
    const traces = await traceEvents(ids.traceId);
    expect(traces).toHaveLength(1);
    expect(traces[0]!.body.environment).toBe("qa");
  });
});
