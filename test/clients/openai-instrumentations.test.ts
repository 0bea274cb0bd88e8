import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { context, metrics, type Attributes } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, type ReadableSpan, type SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { OpenAIInstrumentation as GenAiInstrumentation } from "@opentelemetry/instrumentation-openai";
import { OpenAIInstrumentation as OpenInferenceInstrumentation } from "@arizeai/openinference-instrumentation-openai";
import OpenAI from "openai";
import { basicAuth, TEST_KEYS } from "../support/daemon.js";
import {
  FAKE_TEXT_REPLY,
  FAKE_TOOL_ANSWER_PREFIX,
  FAKE_TOOL_ARGUMENTS,
  FAKE_USAGE,
  fakeEmbedding,
  startFakeOpenAI,
  type FakeOpenAI,
} from "../support/fake-openai.js";
import { startStack, type StoredEvent, type TestStack } from "../support/stack.js";

/**
 * The real `openai` client, pointed at a fake OpenAI server, instrumented by the two common
 * OpenAI instrumentations; their spans go through the OTel SDK and the OTLP/proto exporter to the
 * daemon, and the tests read the Langfuse events back from S3. Expected values follow the mapping
 * spec (§5 types, §6 input/output, §8 body, §8.1 modelParameters, §8.2 usageDetails) applied to
 * the attributes each library really emits.
 */

let stack: TestStack;
let fake: FakeOpenAI;
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(async () => {
  // The instrumentations start their spans under context.active(): parent/child needs a manager.
  context.setGlobalContextManager(contextManager.enable());
  fake = await startFakeOpenAI();
  stack = await startStack();
});

afterAll(async () => {
  await stack?.stop();
  await fake?.close();
  context.disable();
});

const PREFIX = `events/${TEST_KEYS.projectId}/`;

/** Records ended spans, so a test can wait for exactly the spans it caused (no sleeps). */
class EndedSpans implements SpanProcessor {
  readonly spans: ReadableSpan[] = [];
  private waiters: Array<{ count: number; resolve: () => void }> = [];

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    this.spans.push(span);
    this.waiters = this.waiters.filter((waiter) => {
      if (this.spans.length < waiter.count) return true;
      waiter.resolve();
      return false;
    });
  }

  /** Resolves once `count` spans in total have ended. */
  until(count: number): Promise<void> {
    if (this.spans.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

function startTracing(label: string) {
  const ended = new EndedSpans();
  const exporter = new OTLPTraceExporter({ url: `${stack.daemon.url("otlp")}/v1/traces`, headers: { authorization: basicAuth() } });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": `openai-app-${label}` }),
    // Exports only on forceFlush, so every span of one test travels in one request.
    spanProcessors: [ended, new BatchSpanProcessor(exporter, { scheduledDelayMillis: 3_600_000 })],
  });

  /**
   * Runs `action`, waits until it has ended `count` spans (streams end theirs after the last
   * chunk), exports them and returns them in the order they ended.
   */
  async function capture<T>(count: number, action: () => Promise<T>): Promise<{ result: T; spans: ReadableSpan[] }> {
    const from = ended.spans.length;
    const result = await action();
    await ended.until(from + count);
    await provider.forceFlush();
    const spans = ended.spans.slice(from);
    expect(spans).toHaveLength(count);
    return { result, spans };
  }

  return { provider, tracer: provider.getTracer("weather-app", "1.0.0"), capture };
}

type Tracing = ReturnType<typeof startTracing>;

const ids = (span: ReadableSpan) => ({ id: span.spanContext().spanId, traceId: span.spanContext().traceId });

/** The one observation event stored for a span. */
async function observationOf(span: ReadableSpan): Promise<StoredEvent> {
  const events = await stack.eventsUnder(`${PREFIX}observation/${span.spanContext().spanId}/`);
  expect(events).toHaveLength(1);
  return events[0]!;
}

/** The trace events stored for a span's trace. */
function tracesOf(span: ReadableSpan): Promise<StoredEvent[]> {
  return stack.eventsUnder(`${PREFIX}trace/${span.spanContext().traceId}/`);
}

function metadataOf(event: StoredEvent): { attributes: Record<string, unknown>; scope: Record<string, unknown> } {
  return event.body.metadata as { attributes: Record<string, unknown>; scope: Record<string, unknown> };
}

/** Usage as the generic rule of §8.2 gives it for OpenInference's `llm.token_count.*` of one fake response. */
function openInferenceUsage(usage: { prompt_tokens: number; completion_tokens: number; cached_tokens: number }) {
  return {
    // prompt minus cache read; completion minus reasoning (0) and audio (0).
    input: usage.prompt_tokens - usage.cached_tokens,
    output: usage.completion_tokens,
    total: usage.prompt_tokens + usage.completion_tokens,
    input_cached_tokens: usage.cached_tokens,
    output_reasoning_tokens: 0,
    output_audio_tokens: 0,
    // `llm.token_count.prompt_details.audio` is not a named count: passed through under its suffix.
    "prompt_details.audio": 0,
  };
}

const WEATHER_TOOL: OpenAI.Chat.ChatCompletionFunctionTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather for a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false },
    strict: true,
  },
};

const CHAT_PARAMS = {
  model: "gpt-4o-mini",
  messages: [
    { role: "system", content: "You are terse." },
    { role: "user", content: "Say hello." },
  ],
  temperature: 0.2,
  top_p: 0.9,
  max_completion_tokens: 64,
  stop: ["END"],
} satisfies OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;

const STREAM_PARAMS = {
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: "Say hello." }],
  temperature: 0,
  stream: true,
  stream_options: { include_usage: true },
} satisfies OpenAI.Chat.ChatCompletionCreateParamsStreaming;

const WEATHER_QUESTION: OpenAI.Chat.ChatCompletionMessageParam = { role: "user", content: "What is the weather in Paris?" };

async function readStream(stream: AsyncIterable<OpenAI.Chat.ChatCompletionChunk>): Promise<string> {
  let text = "";
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
  return text;
}

/** The model's tool call from a completion (the fake always answers a user turn with tools by one). */
function toolCallOf(completion: OpenAI.Chat.ChatCompletion): OpenAI.Chat.ChatCompletionMessageFunctionToolCall {
  const call = completion.choices[0]?.message.tool_calls?.[0];
  if (call?.type !== "function") throw new Error(`expected a function tool call, got ${JSON.stringify(completion.choices[0])}`);
  return call;
}

/** The application's part of a tool round trip: ask, run the tool in its own span, answer. */
async function weatherRoundTrip(
  client: OpenAI,
  tracing: Tracing,
  toolSpanAttributes: (call: OpenAI.Chat.ChatCompletionMessageFunctionToolCall, result: string) => Attributes,
) {
  return tracing.tracer.startActiveSpan("weather-agent", async (root) => {
    try {
      return await roundTrip();
    } finally {
      root.end();
    }
  });

  async function roundTrip() {
    const askParams = { model: "gpt-4o-mini", messages: [WEATHER_QUESTION], tools: [WEATHER_TOOL] } satisfies OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
    const ask = await client.chat.completions.create(askParams);
    const call = toolCallOf(ask);
    const toolResult = "sunny, 21°C";
    tracing.tracer.startActiveSpan(call.function.name, { attributes: toolSpanAttributes(call, toolResult) }, (span) => span.end());
    const answerParams = {
      model: "gpt-4o-mini",
      messages: [WEATHER_QUESTION, ask.choices[0]!.message, { role: "tool", tool_call_id: call.id, content: toolResult }],
      tools: [WEATHER_TOOL],
    } satisfies OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
    const answer = await client.chat.completions.create(answerParams);
    return { askParams, ask, call, toolResult, answerParams, answer };
  }
}

describe("@opentelemetry/instrumentation-openai 0.21.0 (OTel GenAI conventions)", () => {
  const SCOPE = { name: "@opentelemetry/instrumentation-openai", version: "0.21.0" };
  let instrumentation: GenAiInstrumentation;
  let tracing: Tracing;
  let client: OpenAI;

  beforeAll(() => {
    tracing = startTracing("genai");
    // Content capture on: in this version it only changes the log records the instrumentation
    // emits (gen_ai.*.message / gen_ai.choice via the Logs API); spans never carry content.
    instrumentation = new GenAiInstrumentation({ enabled: false, captureMessageContent: true });
    instrumentation.setTracerProvider(tracing.provider);
    // 0.21.0 declares its histograms as class fields, which reset the ones the base constructor
    // made; setMeterProvider makes them again. Without it a stream with a usage chunk throws
    // inside the instrumentation's iterator (SDK setups via registerInstrumentations do this).
    instrumentation.setMeterProvider(metrics.getMeterProvider());
    instrumentation.enable();
    // Import hooks are not active under vitest: require-in-the-middle patches the CJS build.
    const { OpenAI: PatchedOpenAI } = createRequire(import.meta.url)("openai") as typeof import("openai");
    client = new PatchedOpenAI({ baseURL: `${fake.url}/v1`, apiKey: "sk-fake-key", maxRetries: 0 });
  });

  afterAll(async () => {
    instrumentation?.disable();
    await tracing?.provider.shutdown();
  });

  it("chat completion: generation with the response model, gen_ai.request.* parameters and usage; no content on the span", async () => {
    const { result, spans } = await tracing.capture(1, () => client.chat.completions.create(CHAT_PARAMS));
    expect(result.choices[0]?.message.content).toBe(FAKE_TEXT_REPLY);
    const span = spans[0]!;
    expect(span.instrumentationScope).toMatchObject(SCOPE);

    const event = await observationOf(span);
    expect(event.type).toBe("generation-create");
    expect(event.body).toMatchObject({
      ...ids(span),
      parentObservationId: null,
      name: "chat gpt-4o-mini",
      // §8: gen_ai.response.model before gen_ai.request.model.
      model: "gpt-4o-mini-2024-07-18",
      level: "DEFAULT",
      completionStartTime: null,
      // §6: no content attribute and no span event, so nothing (step 21).
      input: null,
      output: null,
    });
    // §8.1 step 6: gen_ai.request.* minus the model, arrays as JSON text.
    expect(event.body.modelParameters).toEqual({ temperature: 0.2, top_p: 0.9, max_tokens: 64, stop_sequences: '["END"]' });
    // §8.2 generic rule on gen_ai.usage.input_tokens/output_tokens. The instrumentation does not
    // record prompt_tokens_details.cached_tokens, so there is no input_cached_tokens to report.
    expect(event.body.usageDetails).toEqual({ input: FAKE_USAGE.text.prompt_tokens, output: FAKE_USAGE.text.completion_tokens });
    expect(metadataOf(event).attributes).toMatchObject({
      "gen_ai.system": "openai",
      "gen_ai.response.id": result.id,
      "gen_ai.response.finish_reasons": '["stop"]',
      "gen_ai.usage.input_tokens": String(FAKE_USAGE.text.prompt_tokens),
    });
    expect(metadataOf(event).scope).toMatchObject(SCOPE);

    // The LLM span is the root: a full trace named after it, with the observation's (empty) I/O.
    const traces = await tracesOf(span);
    expect(traces).toHaveLength(1);
    expect(traces[0]).toMatchObject({ type: "trace-create", body: { id: span.spanContext().traceId, name: "chat gpt-4o-mini", input: null, output: null } });
  });

  it("streaming chat with include_usage: usage from the final chunk, response model from the chunks", async () => {
    const { result: text, spans } = await tracing.capture(1, async () => readStream(await client.chat.completions.create(STREAM_PARAMS)));
    expect(text).toBe(FAKE_TEXT_REPLY);
    const span = spans[0]!;
    expect(span.instrumentationScope).toMatchObject(SCOPE);

    const event = await observationOf(span);
    expect(event.type).toBe("generation-create");
    expect(event.body).toMatchObject({
      ...ids(span),
      name: "chat gpt-4o-mini",
      model: "gpt-4o-mini-2024-07-18",
      // §8: only langfuse.observation.completion_start_time or ai.*.msToFirstChunk set it.
      completionStartTime: null,
      input: null,
      output: null,
    });
    expect(event.body.modelParameters).toEqual({ temperature: 0 });
    expect(event.body.usageDetails).toEqual({ input: FAKE_USAGE.text.prompt_tokens, output: FAKE_USAGE.text.completion_tokens });
    expect(metadataOf(event).attributes).toMatchObject({ "gen_ai.response.finish_reasons": '["stop"]' });
  });

  it("streaming chat without include_usage: no usage at all", async () => {
    const params = { ...STREAM_PARAMS, stream_options: undefined };
    const { spans } = await tracing.capture(1, async () => readStream(await client.chat.completions.create(params)));
    const event = await observationOf(spans[0]!);
    expect(event.type).toBe("generation-create");
    expect(event.body.model).toBe("gpt-4o-mini-2024-07-18");
    expect(event.body.usageDetails ?? null).toBeNull();
  });

  it("tool call round trip: two generations and the application's execute_tool span under its root", async () => {
    const { result, spans } = await tracing.capture(4, () =>
      weatherRoundTrip(client, tracing, (call, toolResult) => ({
        // The application's own tool span, written with the GenAI conventions (case 17).
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": call.function.name,
        "gen_ai.tool.call.id": call.id,
        "gen_ai.tool.call.arguments": call.function.arguments,
        "gen_ai.tool.call.result": toolResult,
      })),
    );
    expect(result.call.function).toEqual({ name: "get_weather", arguments: FAKE_TOOL_ARGUMENTS });
    expect(result.answer.choices[0]?.message.content).toBe(`${FAKE_TOOL_ANSWER_PREFIX}${result.toolResult}`);
    const [ask, tool, answer, root] = spans as [ReadableSpan, ReadableSpan, ReadableSpan, ReadableSpan];
    expect([ask, answer].map((s) => s.instrumentationScope.name)).toEqual([SCOPE.name, SCOPE.name]);
    expect(root.name).toBe("weather-agent");
    const rootId = root.spanContext().spanId;

    const askEvent = await observationOf(ask);
    expect(askEvent.type).toBe("generation-create");
    expect(askEvent.body).toMatchObject({ ...ids(ask), parentObservationId: rootId, name: "chat gpt-4o-mini", model: "gpt-4o-mini-2024-07-18", input: null, output: null });
    expect(askEvent.body.usageDetails).toEqual({ input: FAKE_USAGE.toolCall.prompt_tokens, output: FAKE_USAGE.toolCall.completion_tokens });
    expect(askEvent.body.modelParameters).toEqual({});
    expect(metadataOf(askEvent).attributes).toMatchObject({ "gen_ai.response.finish_reasons": '["tool_calls"]' });

    const toolEvent = await observationOf(tool);
    expect(toolEvent).toMatchObject({
      type: "tool-create",
      body: { ...ids(tool), parentObservationId: rootId, name: "get_weather", input: FAKE_TOOL_ARGUMENTS, output: result.toolResult },
    });

    const answerEvent = await observationOf(answer);
    expect(answerEvent.type).toBe("generation-create");
    expect(answerEvent.body).toMatchObject({ ...ids(answer), parentObservationId: rootId, model: "gpt-4o-mini-2024-07-18", input: null, output: null });
    expect(answerEvent.body.usageDetails).toEqual({ input: FAKE_USAGE.toolAnswer.prompt_tokens, output: FAKE_USAGE.toolAnswer.completion_tokens });
    expect(metadataOf(answerEvent).attributes).toMatchObject({ "gen_ai.response.finish_reasons": '["stop"]' });

    const rootEvent = await observationOf(root);
    expect(rootEvent).toMatchObject({ type: "span-create", body: { ...ids(root), parentObservationId: null, name: "weather-agent" } });
    // One request: the children's shallow trace-creates give way to the root's full one.
    const traces = await tracesOf(root);
    expect(traces).toHaveLength(1);
    expect(traces[0]).toMatchObject({ type: "trace-create", body: { id: root.spanContext().traceId, name: "weather-agent" } });
  });

  it("embeddings: embedding observation with model, input token usage and the encoding format", async () => {
    const input = ["The quick brown fox", "jumps over the lazy dog"];
    const { result, spans } = await tracing.capture(1, () =>
      client.embeddings.create({ model: "text-embedding-3-small", input, encoding_format: "float" }),
    );
    expect(result.data.map((item) => item.embedding)).toEqual([fakeEmbedding(0), fakeEmbedding(1)]);
    const span = spans[0]!;
    expect(span.instrumentationScope).toMatchObject(SCOPE);

    const event = await observationOf(span);
    // §5: gen_ai.operation.name "embeddings" → EMBEDDING (case 18).
    expect(event.type).toBe("embedding-create");
    expect(event.body).toMatchObject({ ...ids(span), name: "embeddings text-embedding-3-small", model: "text-embedding-3-small", input: null, output: null });
    expect(event.body.usageDetails).toEqual({ input: FAKE_USAGE.embedding.prompt_tokens * input.length });
    expect(event.body.modelParameters).toEqual({ encoding_formats: '["float"]' });
    const traces = await tracesOf(span);
    expect(traces).toHaveLength(1);
    expect(traces[0]!.body).toMatchObject({ name: "embeddings text-embedding-3-small" });
  });
});

describe("@arizeai/openinference-instrumentation-openai 4.2.7 (OpenInference conventions)", () => {
  const SCOPE = { name: "@arizeai/openinference-instrumentation-openai", version: "4.2.7" };
  let instrumentation: OpenInferenceInstrumentation;
  let tracing: Tracing;
  let client: OpenAI;

  beforeAll(() => {
    tracing = startTracing("openinference");
    // Patched by hand (the ESM build this file imports); no require hook, so the CJS build the
    // other describe patched stays out of it.
    instrumentation = new OpenInferenceInstrumentation({ tracerProvider: tracing.provider, instrumentationConfig: { enabled: false } });
    instrumentation.manuallyInstrument(OpenAI);
    client = new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: "sk-fake-key", maxRetries: 0 });
  });

  afterAll(async () => {
    instrumentation?.disable();
    await tracing?.provider.shutdown();
  });

  it("chat completion: input.value/output.value as I/O, llm.invocation_parameters, token counts with cached tokens", async () => {
    const { result, spans } = await tracing.capture(1, () => client.chat.completions.create(CHAT_PARAMS));
    expect(result.choices[0]?.message.content).toBe(FAKE_TEXT_REPLY);
    const span = spans[0]!;
    expect(span.instrumentationScope).toMatchObject(SCOPE);

    const event = await observationOf(span);
    // §5: openinference.span.kind LLM → GENERATION.
    expect(event.type).toBe("generation-create");
    expect(event.body).toMatchObject({
      ...ids(span),
      parentObservationId: null,
      name: "OpenAI Chat Completions",
      // llm.model_name, which the instrumentation overwrites with the response's model.
      model: "gpt-4o-mini-2024-07-18",
      level: "DEFAULT",
      completionStartTime: null,
      // §6 step 14 (case 25): the raw input.value/output.value strings, not llm.*_messages.
      input: JSON.stringify(CHAT_PARAMS),
      output: JSON.stringify(result),
    });
    // §8.1 step 4: llm.invocation_parameters, sanitised (the array becomes JSON text).
    expect(event.body.modelParameters).toEqual({ model: "gpt-4o-mini", temperature: 0.2, top_p: 0.9, max_completion_tokens: 64, stop: '["END"]' });
    // §8.2 generic rule on llm.token_count.*: the cached count is split off the input (case 15).
    expect(event.body.usageDetails).toEqual(openInferenceUsage(FAKE_USAGE.text));
    const { attributes, scope } = metadataOf(event);
    expect(attributes).toMatchObject({ "openinference.span.kind": "LLM", "llm.finish_reason": "stop", "input.mime_type": "application/json" });
    // I/O keys and the flattened message lists are not metadata (§10).
    expect(Object.keys(attributes).filter((key) => key.startsWith("llm.input_messages") || key.startsWith("llm.output_messages") || key.endsWith(".value"))).toEqual([]);
    expect(scope).toMatchObject(SCOPE);

    // A root LLM span: the trace gets the same input and output (§4a).
    const traces = await tracesOf(span);
    expect(traces).toHaveLength(1);
    expect(traces[0]).toMatchObject({
      type: "trace-create",
      body: { id: span.spanContext().traceId, name: "OpenAI Chat Completions", input: JSON.stringify(CHAT_PARAMS), output: JSON.stringify(result) },
    });
  });

  it("streaming chat: the streamed text as output; this version records neither usage nor the response model for streams", async () => {
    const { result: text, spans } = await tracing.capture(1, async () => readStream(await client.chat.completions.create(STREAM_PARAMS)));
    expect(text).toBe(FAKE_TEXT_REPLY);
    const span = spans[0]!;
    expect(span.instrumentationScope).toMatchObject(SCOPE);

    const event = await observationOf(span);
    expect(event.type).toBe("generation-create");
    expect(event.body).toMatchObject({
      ...ids(span),
      name: "OpenAI Chat Completions",
      model: "gpt-4o-mini",
      completionStartTime: null,
      input: JSON.stringify(STREAM_PARAMS),
      output: FAKE_TEXT_REPLY,
    });
    expect(event.body.modelParameters).toEqual({ model: "gpt-4o-mini", temperature: 0, stream: "true", stream_options: '{"include_usage":true}' });
    expect(event.body.usageDetails ?? null).toBeNull();
  });

  it("tool call round trip: tool definitions move from llm.tools.* into the input (§6)", async () => {
    const { result, spans } = await tracing.capture(4, () =>
      weatherRoundTrip(client, tracing, (call, toolResult) => ({
        // The application's own tool span, written with the OpenInference conventions.
        "openinference.span.kind": "TOOL",
        "tool.name": call.function.name,
        "input.value": call.function.arguments,
        "output.value": toolResult,
      })),
    );
    expect(result.call.function).toEqual({ name: "get_weather", arguments: FAKE_TOOL_ARGUMENTS });
    const [ask, tool, answer, root] = spans as [ReadableSpan, ReadableSpan, ReadableSpan, ReadableSpan];
    expect([ask, answer].map((s) => s.instrumentationScope.name)).toEqual([SCOPE.name, SCOPE.name]);
    const rootId = root.spanContext().spanId;

    const askEvent = await observationOf(ask);
    expect(askEvent.type).toBe("generation-create");
    expect(askEvent.body).toMatchObject({
      ...ids(ask),
      parentObservationId: rootId,
      name: "OpenAI Chat Completions",
      model: "gpt-4o-mini-2024-07-18",
      output: JSON.stringify(result.ask),
    });
    // input.value is parsed and gets the llm.tools.0.tool.json_schema definitions: an object now.
    expect(askEvent.body.input).toEqual({ ...JSON.parse(JSON.stringify(result.askParams)), tools: [WEATHER_TOOL] });
    expect(metadataOf(askEvent).attributes).not.toHaveProperty("llm.tools.0.tool.json_schema");
    expect(metadataOf(askEvent).attributes).toMatchObject({ "llm.finish_reason": "tool_calls" });
    expect(askEvent.body.modelParameters).toEqual({ model: "gpt-4o-mini", tools: JSON.stringify([WEATHER_TOOL]) });
    expect(askEvent.body.usageDetails).toEqual(openInferenceUsage(FAKE_USAGE.toolCall));

    const toolEvent = await observationOf(tool);
    expect(toolEvent).toMatchObject({
      type: "tool-create",
      body: { ...ids(tool), parentObservationId: rootId, name: "get_weather", input: FAKE_TOOL_ARGUMENTS, output: result.toolResult },
    });

    const answerEvent = await observationOf(answer);
    expect(answerEvent.type).toBe("generation-create");
    expect(answerEvent.body).toMatchObject({ ...ids(answer), parentObservationId: rootId, output: JSON.stringify(result.answer) });
    expect(answerEvent.body.input).toEqual({ ...JSON.parse(JSON.stringify(result.answerParams)), tools: [WEATHER_TOOL] });
    expect(answerEvent.body.usageDetails).toEqual(openInferenceUsage(FAKE_USAGE.toolAnswer));

    const traces = await tracesOf(root);
    expect(traces).toHaveLength(1);
    // Tool normalisation is for observations only; this root has no I/O of its own.
    expect(traces[0]).toMatchObject({ type: "trace-create", body: { id: root.spanContext().traceId, name: "weather-agent", input: null, output: null } });
  });

  it("streaming tool call: the aggregated call reaches the client; output.value is the empty streamed text", async () => {
    const params = { model: "gpt-4o-mini", messages: [WEATHER_QUESTION], tools: [WEATHER_TOOL], stream: true } satisfies OpenAI.Chat.ChatCompletionCreateParamsStreaming;
    const { result: calls, spans } = await tracing.capture(1, async () => {
      const stream = await client.chat.completions.create(params);
      let name = "";
      let args = "";
      for await (const chunk of stream) {
        const call = chunk.choices[0]?.delta.tool_calls?.[0];
        name += call?.function?.name ?? "";
        args += call?.function?.arguments ?? "";
      }
      return { name, args };
    });
    expect(calls).toEqual({ name: "get_weather", args: FAKE_TOOL_ARGUMENTS });

    const event = await observationOf(spans[0]!);
    expect(event.type).toBe("generation-create");
    // Step 14 ends the search because input.value is set, so the empty output.value is kept.
    expect(event.body.output).toBe("");
    expect(event.body.input).toEqual({ ...JSON.parse(JSON.stringify(params)), tools: [WEATHER_TOOL] });
    expect(metadataOf(event).attributes).toMatchObject({ "llm.finish_reason": "tool_calls" });
  });

  it("embeddings: EMBEDDING kind → embedding observation; input.value is the input; no model source (§8)", async () => {
    const input = ["The quick brown fox", "jumps over the lazy dog"];
    // Default encoding: the client asks for base64 and decodes it.
    const { result, spans } = await tracing.capture(1, () => client.embeddings.create({ model: "text-embedding-3-small", input }));
    expect(fake.requests.at(-1)).toMatchObject({ path: "/v1/embeddings", body: { encoding_format: "base64" } });
    expect(result.data.map((item) => item.embedding)).toEqual([fakeEmbedding(0), fakeEmbedding(1)]);
    const span = spans[0]!;
    expect(span.instrumentationScope).toMatchObject(SCOPE);

    const event = await observationOf(span);
    expect(event.type).toBe("embedding-create");
    expect(event.body).toMatchObject({ ...ids(span), name: "OpenAI Embeddings", input: JSON.stringify(input) });
    // Step 14 takes the pair as it is: input.value without output.value leaves the output unset.
    expect(event.body).not.toHaveProperty("output");
    // OpenInference names the model embedding.model_name, which is not in §8's model list; and
    // this version records no token counts for embeddings.
    expect(event.body.model ?? null).toBeNull();
    expect(event.body.usageDetails ?? null).toBeNull();
    expect(metadataOf(event).attributes).toMatchObject({
      "openinference.span.kind": "EMBEDDING",
      "embedding.model_name": "text-embedding-3-small",
      "embedding.embeddings.0.embedding.text": input[0],
      "embedding.embeddings.1.embedding.vector": JSON.stringify(fakeEmbedding(1)),
    });
  });
});
