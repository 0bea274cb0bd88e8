/**
 * The individual mapping rules (§1, §2, §6–§10) beyond the verified §12 cases.
 */
import { describe, expect, it } from "vitest";
import { convertAnyValue } from "../../../src/conversion/attributes.js";
import { reconstructFlattened } from "../../../src/conversion/flattened-messages.js";
import { renderId, unixNanosToMillis } from "../../../src/conversion/ids-and-times.js";
import { normaliseEnvironment } from "../../../src/conversion/properties.js";
import {
  NOW,
  R,
  START,
  T,
  child,
  convert,
  dbl,
  request,
  span,
  view,
  type Attr,
  type SpanSpec,
} from "./fixtures.js";

interface Options {
  scope?: Record<string, unknown>;
  resource?: Record<string, Attr>;
}

function events(spec: SpanSpec, options: Options = {}) {
  const result = convert(request({ spans: [span(spec)], ...options }));
  expect(result.rejectedSpans).toEqual([]);
  return view(result);
}

/** The observation body of one root span. */
function obs(attributes: Record<string, Attr>, options: Options & Omit<SpanSpec, "attributes"> = {}) {
  const { scope, resource, ...spec } = options;
  const all = events({ ...spec, attributes }, { scope, resource });
  return all[all.length - 1]?.body as Record<string, unknown>;
}

/** The trace body of one root span. */
function trace(attributes: Record<string, Attr>, options: Options & Omit<SpanSpec, "attributes"> = {}) {
  const { scope, resource, ...spec } = options;
  return events({ ...spec, attributes }, { scope, resource })[0]?.body as Record<string, unknown>;
}

function io(body: Record<string, unknown>) {
  return { input: body.input, output: body.output };
}

describe("§1 attribute values", () => {
  it("converts each AnyValue shape", () => {
    expect(convertAnyValue({ stringValue: "" })).toBe("");
    expect(convertAnyValue({ intValue: "42" })).toBe(42);
    expect(convertAnyValue({ intValue: 42 })).toBe(42);
    expect(convertAnyValue({ intValue: "9007199254740993" })).toBe(9007199254740992);
    expect(convertAnyValue({ intValue: { high: 1, low: 5 } })).toBe(4294967301);
    expect(convertAnyValue({ intValue: { high: -1, low: -1 } })).toBe(-1);
    expect(convertAnyValue({ intValue: "abc" })).toBe('{"intValue":"abc"}');
    expect(convertAnyValue({ doubleValue: 0 })).toBe(0);
    expect(convertAnyValue({ doubleValue: "2.5" })).toBe(2.5);
    expect(convertAnyValue({ doubleValue: "Infinity" })).toBe("Infinity");
    expect(convertAnyValue({ boolValue: false })).toBe(false);
    expect(convertAnyValue({ arrayValue: { values: [{ intValue: "1" }, { arrayValue: { values: [] } }] } })).toEqual([1, []]);
    expect(convertAnyValue({ arrayValue: {} })).toBe('{"arrayValue":{}}');
    expect(convertAnyValue({})).toBe("{}");
    expect(convertAnyValue({ bytesValue: "AQI=" })).toBe('{"bytesValue":"AQI="}');
  });

  it("later duplicate keys win", () => {
    const body = obs({}, { extra: { attributes: [{ key: "k", value: { stringValue: "a" } }, { key: "k", value: { stringValue: "b" } }] } });
    expect((body.metadata as { attributes: unknown }).attributes).toEqual({ k: "b" });
  });
});

describe("§2 ids and times", () => {
  it("renders byte ids as lower-case hex and keeps strings verbatim", () => {
    expect(renderId("ABC")).toEqual({ ok: true, id: "ABC" });
    expect(renderId(Buffer.from([0xab, 0x01]))).toEqual({ ok: true, id: "ab01" });
    expect(renderId(new Uint8Array([0, 255]))).toEqual({ ok: true, id: "00ff" });
    expect(renderId([1, 2, 3])).toEqual({ ok: true, id: "010203" });
    expect(renderId({ type: "Buffer", data: [16] })).toEqual({ ok: true, id: "10" });
    expect(renderId(undefined)).toEqual({ ok: false, reason: "absent" });
    expect(renderId(3)).toEqual({ ok: false, reason: "not_an_id" });
    expect(renderId([])).toEqual({ ok: false, reason: "empty" });
  });

  it("an empty parentSpanId is a root", () => {
    const all = events({ extra: { parentSpanId: "" } });
    expect(all.map((e) => e.type)).toEqual(["trace-create", "span-create"]);
    expect(all[1]?.body.parentObservationId).toBeNull();
    const fromBuffer = events({ extra: { parentSpanId: { type: "Buffer", data: [] } } });
    expect(fromBuffer[1]?.body.parentObservationId).toBeNull();
  });

  it("parses nanosecond timestamps", () => {
    expect(unixNanosToMillis("1700000000123999999")).toBe(1700000000123);
    expect(unixNanosToMillis(1700000000123456789)).toBe(1700000000123);
    expect(unixNanosToMillis({ high: 395812547, low: 1178829568 })).toBe(Math.trunc((395812547 * 2 ** 32 + 1178829568) / 1e6));
    expect(unixNanosToMillis("")).toBeUndefined();
    expect(unixNanosToMillis("12.5")).toBeUndefined();
    expect(unixNanosToMillis(null)).toBeUndefined();
    expect(unixNanosToMillis("99999999999999999999999999999")).toBeUndefined();
  });

  it("a missing start uses the end; both missing use now", () => {
    const endOnly = obs({}, { start: "", end: "1700000001500000000" });
    expect([endOnly.startTime, endOnly.endTime]).toEqual(["2023-11-14T22:13:21.500Z", "2023-11-14T22:13:21.500Z"]);
    const all = events({ start: undefined, end: "garbage" });
    expect(all[0]?.timestamp).toBe(NOW);
    expect([all[1]?.body.startTime, all[1]?.body.endTime]).toEqual([NOW, NOW]);
  });
});

describe("§3 trace-create decisions", () => {
  it("a non-root span with a langfuse.trace.metadata prefix key is a trace update", () => {
    const all = view(convert(request({ spans: [child({ attributes: { "langfuse.trace.metadata_x": "1" } })] })));
    expect(all[0]?.shallowTrace).toBe(false);
    expect(all[0]?.body).toHaveProperty("metadata");
  });

  it("langfuse.tags, langfuse.public, langfuse.release, langfuse.environment on a child are not trace updates", () => {
    const attributes = { "langfuse.tags": "a", "langfuse.public": true, "langfuse.release": "r", "langfuse.environment": "e" };
    const all = view(convert(request({ spans: [child({ attributes })] })));
    expect(all[0]?.body).toEqual({ id: T, timestamp: START, environment: "e" });
    expect(all[0]?.shallowTrace).toBe(true);
  });

  it("a trace update after a shallow trace of the same request removes the shallow one", () => {
    const all = view(
      convert(request({ spans: [child(), child({ spanId: "3333333333333333", attributes: { "user.id": "u" } })] })),
    );
    expect(all.map((e) => [e.type, e.shallowTrace, e.spanIndex])).toEqual([
      ["span-create", false, 0],
      ["trace-create", false, 1],
      ["span-create", false, 1],
    ]);
  });

  it("shallow traces of other traces are kept; every root gets a full trace", () => {
    const other = "ffffffffffffffffffffffffffffffff";
    const all = view(convert(request({ spans: [child({ traceId: other }), span(), span({ spanId: "4444444444444444" })] })));
    expect(all.map((e) => [e.type, e.shallowTrace, e.body.id])).toEqual([
      ["trace-create", true, other],
      ["span-create", false, "00f067aa0ba902b7"],
      ["trace-create", false, T],
      ["span-create", false, R],
      ["trace-create", false, T],
      ["span-create", false, "4444444444444444"],
    ]);
  });

  it("a trace update carries tags, public, release and version", () => {
    const all = view(
      convert(
        request({
          spans: [
            child({
              attributes: {
                "langfuse.trace.tags": ["x"],
                "langfuse.trace.public": false,
                "langfuse.release": "rel",
                "langfuse.version": "ver",
                "langfuse.trace.output": "out",
                "langfuse.observation.metadata.o": "1",
              },
            }),
          ],
        }),
      ),
    );
    expect(all[0]?.body).toStrictEqual({
      id: T,
      timestamp: START,
      environment: "default",
      metadata: { resourceAttributes: { "service.name": "svc" }, scope: { name: "my-lib", version: "1.0", attributes: {} } },
      version: "ver",
      release: "rel",
      public: false,
      tags: ["x"],
      output: "out",
    });
  });
});

describe("§4 trace properties", () => {
  it("full trace name prefers langfuse.trace.name, then the observation name rule", () => {
    expect(trace({ "langfuse.trace.name": "t", "gen_ai.tool.name": "tool" }).name).toBe("t");
    expect(trace({ "genkit:name": "g", "logfire.msg": "l" }).name).toBe("g");
    expect(trace({ "logfire.msg": "l", "ai.toolCall.name": "tc" }).name).toBe("l");
    expect(trace({ "ai.toolCall.name": "tc", "ai.operationId": "op" }).name).toBe("tc");
    expect(trace({ "ai.operationId": "ai.streamText" }).name).toBe("ai.streamText");
    expect(obs({ "gen_ai.tool.name": 5 }).name).toBe("5");
  });

  it("public is false for anything but true / 'true'", () => {
    expect(trace({ "langfuse.public": "yes" }).public).toBe(false);
    expect(trace({ "langfuse.public": true }).public).toBe(true);
    expect(trace({ "langfuse.trace.public": false, "langfuse.public": true }).public).toBe(false);
    expect(trace({})).not.toHaveProperty("public");
  });

  it("userId / sessionId sources and JSON text for non-strings", () => {
    expect(trace({ "langfuse.observation.metadata.langfuse_user_id": "a" }).userId).toBe("a");
    expect(trace({ "langfuse.trace.metadata.langfuse_session_id": "s" }).sessionId).toBe("s");
    expect(trace({ "user.id": 42 }).userId).toBe("42");
    expect(trace({ "user.id": "" })).not.toHaveProperty("userId");
  });

  it("tags sources and shapes", () => {
    expect(trace({ "langfuse.tags": "solo" }).tags).toEqual(["solo"]);
    expect(trace({ "tag.tags": "a,b ,c" }).tags).toEqual(["a", "b", "c"]);
    expect(trace({ "langfuse.trace.tags": "[not json, x" }).tags).toEqual(["[not json", "x"]);
    expect(trace({ "langfuse.trace.tags": [1, true] }).tags).toEqual(["1", "true"]);
  });
});

describe("§9 environment", () => {
  it("normalises", () => {
    expect(normaliseEnvironment("Staging")).toBe("staging");
    expect(normaliseEnvironment("langfuse-prod")).toBe("prod");
    expect(normaliseEnvironment("langfuselangfuse_x")).toBe("x");
    expect(normaliseEnvironment("x".repeat(50))).toBe("x".repeat(40));
    expect(normaliseEnvironment("a b")).toBe("default");
    expect(normaliseEnvironment("langfuse")).toBe("default");
    expect(normaliseEnvironment(5)).toBe("default");
  });

  it("per key, span before resource; resource langfuse.environment beats span deployment.environment.name", () => {
    expect(obs({ "deployment.environment.name": "span" }, { resource: { "langfuse.environment": "res" } }).environment).toBe("res");
    expect(obs({ "deployment.environment": "a" }, { resource: { "deployment.environment.name": "b" } }).environment).toBe("b");
  });

  it("recovers the LLM-as-a-judge environment of failed OpenRouter broadcasts, after every explicit environment", () => {
    const failed = JSON.stringify({ completion: null, rawRequest: { trace: { environment: "langfuse-llm-as-a-judge" } } });
    const openRouter = { resource: { "service.name": "openrouter" } };
    expect(obs({ "openrouter.source": "openrouter", "gen_ai.completion": failed }, openRouter).environment).toBe("llm-as-a-judge");
    // An explicit environment wins, on the span or the resource.
    expect(
      obs({ "openrouter.source": "openrouter", "gen_ai.completion": failed }, { resource: { "service.name": "openrouter", "deployment.environment": "prod" } })
        .environment,
    ).toBe("prod");
    // Only a failed request (completion null) is recovered.
    const succeeded = JSON.stringify({ completion: {}, rawRequest: { trace: { environment: "langfuse-llm-as-a-judge" } } });
    expect(obs({ "openrouter.source": "openrouter", "gen_ai.completion": succeeded }, openRouter).environment).toBe("default");
  });
});

describe("§7 level", () => {
  it.each([
    ["trace", "DEBUG"],
    [" info ", "DEFAULT"],
    ["Success", "DEFAULT"],
    ["fatal", "ERROR"],
    ["critical", "ERROR"],
    ["WARNING", "WARNING"],
  ])("alias %j → %s", (level, expected) => {
    expect(obs({ "langfuse.observation.level": level }).level).toBe(expected);
  });

  it("unknown level falls back to the status code", () => {
    expect(obs({ "langfuse.observation.level": "loud" }, { status: { code: 2 } }).level).toBe("ERROR");
  });

  it("LiveKit debug spans only under the livekit-agents scope", () => {
    expect(obs({}, { name: "on_enter", scope: { name: "livekit-agents" } }).level).toBe("DEBUG");
    expect(obs({}, { name: "on_enter" }).level).toBe("DEFAULT");
  });
});

describe("§8 observation fields", () => {
  it("model precedence, JSON text for non-strings, Genkit model name, agent loops without model", () => {
    expect(obs({ "gen_ai.request.model": "req", "gen_ai.response.model": "resp" }).model).toBe("resp");
    expect(obs({ "ai.model.id": "ai", "gen_ai.request.model": "req" }).model).toBe("ai");
    expect(obs({ "llm.response.model": "lr", "llm.model_name": "ln" }).model).toBe("lr");
    expect(obs({ model: ["a"] }).model).toBe('["a"]');
    expect(obs({ "genkit:metadata:subtype": "model", "genkit:name": "googleai/gemini" }).model).toBe("googleai/gemini");
    expect(obs({ "gen_ai.operation.name": "agent_step", "gen_ai.request.model": "m" })).not.toHaveProperty("model");
  });

  it("prompt references only for generations, also from the AI SDK langfusePrompt metadata", () => {
    const prompt = '{"name":"p","version":2}';
    const generation = obs({ "gen_ai.request.model": "m", "ai.telemetry.metadata.langfusePrompt": prompt });
    expect([generation.promptName, generation.promptVersion]).toEqual(["p", 2]);
    const legacy = obs({ "langfuse.observation.type": "generation", "langfuse.prompt.name": "lp", "langfuse.prompt.version": 1 });
    expect([legacy.promptName, legacy.promptVersion]).toEqual(["lp", 1]);
    const tool = obs({ "langfuse.observation.type": "tool", "langfuse.observation.prompt.name": "p" });
    expect([tool.promptName, tool.promptVersion]).toEqual([null, null]);
    expect(generation.metadata).not.toHaveProperty("langfusePrompt");
  });

  it("completionStartTime forms", () => {
    expect(obs({ "langfuse.observation.completion_start_time": "2023-11-14T22:13:20.700Z" }).completionStartTime).toBe(
      "2023-11-14T22:13:20.700Z",
    );
    // A number passes the date test and is emitted as is (the schema rejects it later).
    expect(obs({ "langfuse.observation.completion_start_time": 1700000000700 }).completionStartTime).toBe(1700000000700);
    expect(obs({ "langfuse.observation.completion_start_time": "soon" }).completionStartTime).toBeNull();
    expect(obs({ "ai.stream.msToFirstChunk": 10 }).completionStartTime).toBe("2023-11-14T22:13:20.010Z");
  });

  it("statusMessage prefers the attribute, then status.message, even a non-error one", () => {
    expect(obs({ "langfuse.observation.status_message": "attr" }, { status: { code: 1, message: "st" } }).statusMessage).toBe(
      "attr",
    );
  });

  it("version: span langfuse.version, else resource service.version only", () => {
    expect(obs({ "service.version": "span-sv" }, { resource: { "langfuse.version": "res-lv" } }).version).toBeNull();
  });
});

describe("§8.1 modelParameters", () => {
  it("explicit parameters sanitise non-string/number values", () => {
    expect(
      obs({ "langfuse.observation.model.parameters": '{"a":"s","b":1,"c":true,"d":null,"e":{"x":1}}' }).modelParameters,
    ).toEqual({ a: "s", b: 1, c: "true", d: "null", e: '{"x":1}' });
  });

  it("explicit parameters are merged over the AI SDK set", () => {
    const params = obs(
      { "langfuse.observation.model.parameters": '{"temperature":1,"extra":"y"}', "gen_ai.request.max_tokens": 10 },
      { scope: { name: "ai" } },
    ).modelParameters as Record<string, unknown>;
    expect(params.temperature).toBe(1);
    expect(params.extra).toBe("y");
    expect(params.maxTokens).toBe("10");
    expect(Object.keys(params)).toHaveLength(10);
  });

  it("AI SDK set: finish reasons, provider service tier", () => {
    const params = obs(
      {
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.system": "openai",
        "ai.settings.maxRetries": 2,
        "ai.response.providerMetadata": '{"openai":{"serviceTier":"flex"}}',
      },
      { scope: { name: "ai" } },
    ).modelParameters as Record<string, unknown>;
    expect(params).toMatchObject({ finishReason: "stop", system: "openai", maxRetries: "2", service_tier: "flex" });
  });

  it("Genkit config, invocation parameters, model_config and the generic prefixes", () => {
    expect(
      obs({ "genkit:input": '{"messages":[],"config":{"temperature":0.4,"stop":["x"]}}' }, { scope: { name: "genkit-tracer" } })
        .modelParameters,
    ).toEqual({ temperature: 0.4, stop: '["x"]' });
    expect(
      obs({ "genkit:output": '{"request":{"config":{"topK":3}}}' }, { scope: { name: "genkit-tracer" } }).modelParameters,
    ).toEqual({ topK: 3 });
    expect(obs({ model_config: '{"seed":1}' }).modelParameters).toEqual({ seed: 1 });
    expect(obs({ "llm.invocation_parameters": "not json", "llm.invocation_parameters.top_p": dbl(1) }).modelParameters).toEqual({
      top_p: 1,
    });
    expect(obs({ "gen_ai.request.stop_sequences": ["a"], "gen_ai.request.stream": true }).modelParameters).toEqual({
      stop_sequences: '["a"]',
      stream: "true",
    });
  });
});

describe("§8.2 usage and cost", () => {
  it("non-string usage_details → {}", () => {
    expect(obs({ "langfuse.observation.usage_details": 5, "gen_ai.usage.input_tokens": 1 }).usageDetails).toEqual({});
  });

  it("AI SDK usage with OpenAI provider metadata", () => {
    expect(
      obs(
        {
          "gen_ai.usage.input_tokens": 100,
          "gen_ai.usage.output_tokens": 50,
          "ai.usage.tokens": 150,
          "ai.response.providerMetadata":
            '{"openai":{"cachedPromptTokens":30,"reasoningTokens":20,"acceptedPredictionTokens":1,"rejectedPredictionTokens":2}}',
        },
        { scope: { name: "ai" } },
      ).usageDetails,
    ).toEqual({
      input: 70,
      output: 30,
      total: 150,
      input_cached_tokens: 30,
      accepted_prediction_tokens: 1,
      rejected_prediction_tokens: 2,
      output_reasoning_tokens: 20,
    });
  });

  it("AI SDK usage with an Anthropic cache split: the aggregate creation count keeps only what the split does not cover", () => {
    expect(
      obs(
        {
          "gen_ai.usage.input_tokens": 100,
          "gen_ai.usage.output_tokens": 5,
          "ai.usage.cachedInputTokens": 40,
          "ai.response.providerMetadata":
            '{"anthropic":{"cacheReadInputTokens":40,"cacheCreationInputTokens":10,"usage":{"cache_creation":{"ephemeral_5m_input_tokens":6,"ephemeral_1h_input_tokens":4}}}}',
        },
        { scope: { name: "ai" } },
      ).usageDetails,
    ).toEqual({
      input: 50,
      output: 5,
      input_cached_tokens: 40,
      input_cache_creation: 0,
      input_cache_creation_5m: 6,
      input_cache_creation_1h: 4,
    });
  });

  it("AI SDK usage with Bedrock cache counts and ai.usage counts: cache writes stay in the input count", () => {
    expect(
      obs(
        {
          "gen_ai.usage.prompt_tokens": 10,
          "ai.usage.reasoningTokens": "3",
          "gen_ai.usage.completion_tokens": 8,
          "ai.response.providerMetadata": '{"bedrock":{"usage":{"cacheReadInputTokens":2,"cacheWriteInputTokens":1}}}',
        },
        { scope: { name: "ai" } },
      ).usageDetails,
    ).toEqual({ input: 8, output: 5, output_reasoning_tokens: 3, input_cache_read: 2, input_cache_write: 1 });
  });

  it("unparsable AI SDK provider metadata falls back to the generic rule", () => {
    expect(
      obs({ "gen_ai.usage.input_tokens": 4, "ai.response.providerMetadata": "{bad" }, { scope: { name: "ai" } }).usageDetails,
    ).toEqual({ input: 4 });
  });

  it("Genkit usage", () => {
    expect(
      obs(
        { "genkit:output": '{"message":{},"usage":{"inputTokens":5,"outputTokens":9,"totalTokens":14,"thoughtsTokens":4}}' },
        { scope: { name: "genkit-tracer" } },
      ).usageDetails,
    ).toEqual({ input: 5, output: 5, total: 14, output_reasoning: 4 });
  });

  it("Vertex agent usage adds the cached count from the response blob", () => {
    expect(
      obs(
        {
          "gen_ai.usage.input_tokens": 20,
          "gen_ai.usage.output_tokens": 3,
          "gcp.vertex.agent.llm_response": '{"usage_metadata":{"cached_content_token_count":5}}',
        },
        { scope: { name: "gcp.vertex.agent" } },
      ).usageDetails,
    ).toEqual({ input: 15, output: 3, input_cached_tokens: 5 });
  });

  it("generic rule: cache creation, audio, pass-through, skipped NaN", () => {
    expect(
      obs({
        "gen_ai.usage.input_tokens": 50,
        "gen_ai.usage.cache_creation_input_tokens": 10,
        "gen_ai.usage.output_tokens": 20,
        "gen_ai.usage.completion_details.audio": 5,
        "gen_ai.usage.details.image_tokens": 2,
        "gen_ai.usage.weird": "abc",
        "llm.token_count.prompt_details.cache_read": 4,
      }).usageDetails,
    ).toEqual({
      input: 36,
      output: 15,
      input_cached_tokens: 4,
      input_cache_creation: 10,
      output_audio_tokens: 5,
      image_tokens: 2,
    });
  });

  it("cost sources", () => {
    expect(obs({ "gen_ai.usage.cost": 1.5, "llm.cost.total": 2.5 }).costDetails).toEqual({ total: 1.5 });
    expect(obs({ "llm.cost.total": 2.5 }).costDetails).toEqual({ total: 2.5 });
    // JSON that is not an object gives {}; only text that is not JSON falls through.
    expect(obs({ "langfuse.observation.cost_details": "[1]", "llm.cost.total": 2.5 }).costDetails).toEqual({});
    expect(obs({ "langfuse.observation.cost_details": "{bad", "llm.cost.total": 2.5 }).costDetails).toEqual({ total: 2.5 });
    expect(obs({ "gen_ai.usage.cost": "", "llm.cost.total": 2.5 }).costDetails).toEqual({ total: 2.5 });
  });
});

describe("§6 input/output chain", () => {
  it("step 1 stops on an empty string", () => {
    expect(io(obs({ "langfuse.observation.output": "", "input.value": "x" }))).toEqual({ input: undefined, output: "" });
  });

  it("step 2: Genkit payloads are parsed; messages / message preferred", () => {
    const scope = { name: "genkit-tracer" };
    expect(io(obs({ "genkit:input": '{"messages":[1]}', "genkit:output": '{"message":{"c":1}}' }, { scope }))).toEqual({
      input: [1],
      output: { c: 1 },
    });
    expect(io(obs({ "genkit:input": '{"q":1}', "input.value": "ignored" }, { scope }))).toEqual({ input: { q: 1 }, output: undefined });
  });

  it("step 3: AI SDK combinations", () => {
    const scope = { name: "ai" };
    expect(io(obs({ "ai.prompt": "p", "ai.response.text": "t", "ai.response.toolCalls": '[{"id":1}]' }, { scope }))).toEqual({
      input: "p",
      output: '{"role":"assistant","content":"t","tool_calls":"[{\\"id\\":1}]"}',
    });
    expect(io(obs({ "ai.response.text": "", "ai.response.object": '{"a":1}' }, { scope }))).toEqual({
      input: undefined,
      output: '{"a":1}',
    });
    expect(io(obs({ "ai.toolCall.args": "{}", "gen_ai.output.messages": "[]" }, { scope }))).toEqual({
      input: "{}",
      output: "[]",
    });
    // The scope ends the search even when nothing is found.
    expect(io(obs({ "input.value": "x" }, { scope }))).toEqual({ input: undefined, output: undefined });
  });

  it("step 4: Flue payloads", () => {
    expect(
      io(obs({ "flue.tool.arguments": '{"a":1}', "flue.tool.result": "plain" }, { scope: { name: "@flue/opentelemetry" } })),
    ).toEqual({ input: { a: 1 }, output: "plain" });
  });

  it("step 5: the inference details event", () => {
    const body = obs(
      { "input.value": "not used" },
      {
        events: [
          {
            name: "gen_ai.client.inference.operation.details",
            attributes: { "gen_ai.input.messages": "[1]", "gen_ai.output.messages": "[2]" },
          },
        ],
      },
    );
    expect(io(body)).toEqual({ input: "[1]", output: "[2]" });
  });

  it("step 6: several choices stay an array; only message events give no output", () => {
    expect(
      io(obs({}, { events: [{ name: "gen_ai.choice", attributes: { index: 0 } }, { name: "gen_ai.choice", attributes: { index: 1 } }] })),
    ).toEqual({ input: undefined, output: [{ index: 0 }, { index: 1 }] });
    expect(io(obs({}, { events: [{ name: "gen_ai.tool.message", attributes: { id: "t" } }] }))).toEqual({
      input: [{ role: "tool", id: "t" }],
      output: undefined,
    });
  });

  it("step 7: a legacy event without a recognised attribute becomes its attribute object", () => {
    expect(io(obs({}, { events: [{ name: "gen_ai.content.prompt", attributes: { text: "hi" } }] }))).toEqual({
      input: { text: "hi" },
      output: undefined,
    });
  });

  it("step 8: Vertex payloads; '{}' falls back to tool arguments", () => {
    expect(
      io(obs({ "gcp.vertex.agent.llm_request": "{}", "gcp.vertex.agent.tool_call_args": "args", "gcp.vertex.agent.llm_response": "r" })),
    ).toEqual({ input: "args", output: "r" });
  });

  it("steps 9–17 in order", () => {
    expect(io(obs({ prompt: "p", all_messages_events: "m", "input.value": "x" }))).toEqual({ input: "p", output: "m" });
    expect(io(obs({ "lk.user_transcript": "u", "lk.response.text": "r" }))).toEqual({ input: "u", output: "r" });
    expect(
      io(obs({ events: '[{"event.name":"gen_ai.user.message","content":"hi"},{"event.name":"gen_ai.choice","message":"yo"}]' })),
    ).toEqual({ input: [{ "event.name": "gen_ai.user.message", content: "hi" }], output: { "event.name": "gen_ai.choice", message: "yo" } });
    expect(io(obs({ "mlflow.spanInputs": "", "traceloop.entity.output": "t" }))).toEqual({ input: undefined, output: "t" });
    expect(io(obs({ input: "i", output: "o", tool_arguments: "a" }))).toEqual({ input: "i", output: "o" });
    expect(io(obs({ tool_arguments: "a", tool_response: "r" }))).toEqual({ input: "a", output: "r" });
  });

  it("step 16: pydantic-ai messages get the system instructions", () => {
    expect(
      io(
        obs(
          {
            "pydantic_ai.all_messages": '[{"role":"user","parts":[]}]',
            "gen_ai.system_instructions": '[{"type":"text","content":"a"},{"type":"text","content":"b"}]',
            final_result: "done",
          },
          { scope: { name: "pydantic-ai" } },
        ),
      ),
    ).toEqual({ input: '[{"role":"system","content":"a\\nb"},{"role":"user","parts":[]}]', output: "done" });
  });

  it("step 18: a bare gen_ai.prompt and nested arrays with holes", () => {
    expect(io(obs({ "gen_ai.prompt": "bare", "gen_ai.completion.0.content": "c" }))).toEqual({
      input: "bare",
      output: [{ content: "c" }],
    });
    const body = obs({ "gen_ai.prompt.1.content.1.text": "x" });
    expect(JSON.stringify(body.input)).toBe('[null,{"content":[null,{"text":"x"}]}]');
  });

  it("step 19: OpenInference messages", () => {
    expect(
      io(obs({ "llm.input_messages.0.message.role": "user", "llm.output_messages.0.message.content": "yo" })),
    ).toEqual({ input: [{ message: { role: "user" } }], output: [{ message: { content: "yo" } }] });
  });

  it("step 20: a system message already present is not duplicated; tool call fallback", () => {
    expect(
      io(obs({ "gen_ai.input.messages": '[{"role":"system","content":"s"}]', "gen_ai.system_instructions": "other" })),
    ).toEqual({ input: '[{"role":"system","content":"s"}]', output: undefined });
    expect(io(obs({ "gen_ai.input.messages": ["x"], "gen_ai.system_instructions": "plain" }))).toEqual({
      input: [{ role: "system", content: "plain" }, "x"],
      output: undefined,
    });
  });

  it("flattened reconstruction respects the array-slot budget", () => {
    const attrs = new Map<string, unknown>([
      ["p.0.content", "first"],
      ["p.99999999.content", "too far"],
      ["p.10000.content", "last slot"],
      ["p.5.content", "fits"],
      ["p.20.parts.9999.text", "over budget"],
    ]);
    const result = reconstructFlattened(attrs, "p") as unknown[];
    expect(result).toHaveLength(10_001);
    expect(result[0]).toEqual({ content: "first" });
    expect(result[5]).toEqual({ content: "fits" });
    expect(result[10_000]).toEqual({ content: "last slot" });
    expect(result[20]).toBeUndefined();
  });

  it("flattened reconstruction drops conflicting keys", () => {
    const attrs = new Map<string, unknown>([
      ["p.0", "scalar"],
      ["p.0.role", "user"],
      ["p.1.role", "user"],
      ["p.1.role.x", "deeper"],
      ["p.name", "not an index"],
    ]);
    expect(reconstructFlattened(attrs, "p")).toStrictEqual(["scalar", { role: "user" }]);
    expect(reconstructFlattened(new Map([["p.a.b", 1]]), "p")).toStrictEqual({ a: { b: 1 } });
    expect(reconstructFlattened(new Map(), "p")).toBeUndefined();
  });
});

describe("§6 tool normalisation", () => {
  it("Vercel ai.prompt.tools (string array) merge into a JSON message input", () => {
    const body = obs(
      {
        "ai.prompt.messages": '[{"role":"user","content":"hi"}]',
        "ai.prompt.tools": ['{"type":"function","name":"t","parameters":{}}'],
        "ai.model.id": "m",
        "operation.name": "ai.streamText.doStream",
      },
      { scope: { name: "ai" } },
    );
    expect(body.input).toEqual({ messages: [{ role: "user", content: "hi" }], tools: [{ type: "function", name: "t", parameters: {} }] });
    expect((body.metadata as { attributes: Record<string, unknown> }).attributes).not.toHaveProperty("ai.prompt.tools");
  });

  it("OpenInference llm.tools.N.tool.json_schema in index order, plain-text input becomes {prompt}", () => {
    const body = obs({
      "input.value": "hello",
      "llm.tools.1.tool.json_schema": '{"type":"function","function":{"name":"b"}}',
      "llm.tools.0.tool.json_schema": '{"type":"function","function":{"name":"a"}}',
    });
    expect(body.input).toEqual({
      prompt: "hello",
      tools: [
        { type: "function", function: { name: "a" } },
        { type: "function", function: { name: "b" } },
      ],
    });
    // Nothing else was in the attributes, so the key goes.
    expect(body.metadata).not.toHaveProperty("attributes");
  });

  it("pydantic-ai function_tools leave the rest of model_request_parameters; object input is spread", () => {
    const body = obs({
      "input.value": { raw: { stringValue: '{"q":1}' } },
      model_request_parameters: '{"function_tools":[{"name":"f","parameters_json_schema":{}}],"allow_text_output":true}',
    });
    expect(body.input).toEqual({ q: 1, tools: [{ name: "f", parameters_json_schema: {} }] });
    expect((body.metadata as { attributes: Record<string, unknown> }).attributes).toEqual({
      model_request_parameters: '{"allow_text_output":true}',
    });
  });

  it("metadata.tools moves into an absent input; non-tool lists stay", () => {
    const moved = obs({ "langfuse.observation.metadata": '{"tools":[{"name":"x"}],"k":1}' });
    expect(moved.input).toEqual({ tools: [{ name: "x" }] });
    expect(moved.metadata).not.toHaveProperty("tools");
    expect((moved.metadata as Record<string, unknown>).k).toBe(1);
    const kept = obs({ "langfuse.observation.metadata": '{"tools":["x"]}' });
    expect(kept.input).toBeNull();
    expect((kept.metadata as Record<string, unknown>).tools).toEqual(["x"]);
    // The root trace keeps its metadata untouched.
    const rootTrace = trace({ "langfuse.observation.metadata": '{"tools":[{"name":"x"}]}' });
    expect((rootTrace.metadata as Record<string, unknown>).tools).toEqual([{ name: "x" }]);
    expect(rootTrace.input).toBeNull();
  });
});
