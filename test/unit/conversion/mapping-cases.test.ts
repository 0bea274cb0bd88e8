/**
 * The verified input → output cases of mapping spec §12, one test each, asserting full raw event
 * bodies, event order, envelope timestamps and the shallow-trace flag.
 */
import { describe, expect, it } from "vitest";
import { convertResourceSpans } from "../../../src/conversion/convert.js";
import {
  C,
  NOW,
  R,
  START,
  T,
  child,
  childObservation,
  convert,
  fullTrace,
  meta,
  obsEvent,
  observation,
  request,
  resourceSpans,
  scopeMeta,
  shallow,
  span,
  traceEvent,
  traceUpdate,
  view,
  withoutShallow,
  type Attr,
  type EventView,
  type SpanSpec,
} from "./fixtures.js";

/** One root span R in the common fixture (resource svc, scope my-lib 1.0). */
function root(spec: SpanSpec = {}, options: { resource?: Record<string, Attr>; scope?: Record<string, unknown> } = {}) {
  const result = convert(request({ spans: [span(spec)], ...options }));
  expect(result.rejectedSpans).toEqual([]);
  expect(result.spanCount).toBe(1);
  return view(result);
}

/** A root span's two events: full trace-create, then the observation. */
function rootPair(events: EventView[]): { trace: Record<string, unknown>; obs: Record<string, unknown>; type: string } {
  expect(events).toHaveLength(2);
  const [traceView, obsView] = events as [EventView, EventView];
  expect(traceView.type).toBe("trace-create");
  expect(traceView.timestamp).toBe(START);
  expect(traceView.shallowTrace).toBe(false);
  expect(obsView.timestamp).toBe(NOW);
  return { trace: traceView.body, obs: obsView.body, type: obsView.type };
}

describe("mapping spec §12 verified cases", () => {
  it("01: root span without attributes → full trace-create + span-create", () => {
    expect(root()).toStrictEqual([traceEvent(fullTrace()), obsEvent("span-create", observation())]);
  });

  it("02: child of an unseen trace → flagged shallow trace-create + span-create", () => {
    const events = view(convert(request({ spans: [child()] })));
    expect(events).toStrictEqual([traceEvent(shallow(), 0, true), obsEvent("span-create", childObservation())]);
  });

  it("03 (seen): child of a seen trace → only span-create once flagged shallow events are dropped", () => {
    const events = view(convert(request({ spans: [child()] })));
    expect(withoutShallow(events)).toStrictEqual([obsEvent("span-create", childObservation())]);
  });

  it("04: [c1, c2, root] → shallow trace of c1 removed by batch dedup, order kept", () => {
    const c2 = "1111111111111111";
    const events = view(
      convert(request({ spans: [child(), child({ spanId: c2 }), span({ name: "root" })] })),
    );
    expect(events).toStrictEqual([
      obsEvent("span-create", childObservation(), 0),
      obsEvent("span-create", childObservation({ id: c2 }), 1),
      traceEvent(fullTrace({ name: "root" }), 2),
      obsEvent("span-create", observation({ name: "root" }), 2),
    ]);
  });

  it("05 (seen): child with trace attributes → trace update + span-create", () => {
    const attributes = {
      "langfuse.trace.name": "my-trace",
      "user.id": "u1",
      "session.id": "s1",
      "langfuse.trace.input": '{"q":1}',
    };
    const events = view(convert(request({ spans: [child({ attributes })] })));
    const expected = [
      traceEvent(traceUpdate({ name: "my-trace", userId: "u1", sessionId: "s1", input: '{"q":1}' })),
      obsEvent(
        "span-create",
        childObservation({
          metadata: meta({ "langfuse.trace.name": "my-trace", "user.id": "u1", "session.id": "s1" }),
        }),
      ),
    ];
    expect(events).toStrictEqual(expected);
    expect(withoutShallow(events)).toStrictEqual(expected);
  });

  it("06 (seen): child with langfuse.internal.as_root → full trace-create, parent kept", () => {
    const events = view(convert(request({ spans: [child({ attributes: { "langfuse.internal.as_root": true } })] })));
    const metadata = meta({ "langfuse.internal.as_root": "true" });
    expect(events).toStrictEqual([
      traceEvent(fullTrace({ name: "op", metadata })),
      obsEvent("span-create", childObservation({ metadata })),
    ]);
  });

  it("07: status code 2 → ERROR with the status message", () => {
    const events = root({ status: { code: 2, message: "boom" } });
    expect(events).toStrictEqual([
      traceEvent(fullTrace()),
      obsEvent("span-create", observation({ level: "ERROR", statusMessage: "boom" })),
    ]);
  });

  it("08: status code as enum name → DEFAULT, message still copied", () => {
    const events = root({ status: { code: "STATUS_CODE_ERROR", message: "boom" } });
    expect(events).toStrictEqual([
      traceEvent(fullTrace()),
      obsEvent("span-create", observation({ level: "DEFAULT", statusMessage: "boom" })),
    ]);
  });

  it("09: explicit level and status message win over the span status", () => {
    const attributes = { "langfuse.observation.level": "warn", "langfuse.observation.status_message": "careful" };
    const metadata = meta({ "langfuse.observation.level": "warn", "langfuse.observation.status_message": "careful" });
    const events = root({ attributes, status: { code: 2, message: "boom" } });
    expect(events).toStrictEqual([
      traceEvent(fullTrace({ metadata })),
      obsEvent("span-create", observation({ level: "WARNING", statusMessage: "careful", metadata })),
    ]);
  });

  it("10: explicit Langfuse generation attributes", () => {
    const events = root({
      attributes: {
        "langfuse.observation.type": "generation",
        "langfuse.observation.model.name": "gpt-4o",
        "langfuse.observation.usage_details": '{"input":10,"output":5,"total":15}',
        "langfuse.observation.cost_details": '{"total":0.01}',
        "langfuse.observation.model.parameters": '{"temperature":0.2,"stop":["x"]}',
        "langfuse.observation.prompt.name": "p1",
        "langfuse.observation.prompt.version": 3,
        "langfuse.observation.completion_start_time": '"2023-11-14T22:13:20.500Z"',
        "langfuse.observation.input": '[{"role":"user","content":"hi"}]',
        "langfuse.observation.output": "hello",
      },
    });
    const metadata = meta({
      "langfuse.observation.type": "generation",
      "langfuse.observation.model.name": "gpt-4o",
      "langfuse.observation.usage_details": '{"input":10,"output":5,"total":15}',
      "langfuse.observation.cost_details": '{"total":0.01}',
      "langfuse.observation.model.parameters": '{"temperature":0.2,"stop":["x"]}',
      "langfuse.observation.prompt.name": "p1",
      "langfuse.observation.prompt.version": "3",
      "langfuse.observation.completion_start_time": '"2023-11-14T22:13:20.500Z"',
    });
    const io = { input: '[{"role":"user","content":"hi"}]', output: "hello" };
    expect(events).toStrictEqual([
      traceEvent(fullTrace({ metadata, ...io })),
      obsEvent(
        "generation-create",
        observation({
          metadata,
          completionStartTime: "2023-11-14T22:13:20.500Z",
          model: "gpt-4o",
          modelParameters: { temperature: 0.2, stop: '["x"]' },
          promptName: "p1",
          promptVersion: 3,
          usageDetails: { input: 10, output: 5, total: 15 },
          costDetails: { total: 0.01 },
          ...io,
        }),
      ),
    ]);
  });

  it.each([
    ["11", "agent", "agent-create"],
    ["12", "tool", "tool-create"],
    ["13", "event", "event-create"],
    ["14", "banana", "span-create"],
  ])("%s: langfuse.observation.type %s → %s", (_case, type, eventType) => {
    const metadata = meta({ "langfuse.observation.type": type });
    expect(root({ attributes: { "langfuse.observation.type": type } })).toStrictEqual([
      traceEvent(fullTrace({ metadata })),
      obsEvent(eventType, observation({ metadata })),
    ]);
  });

  it("15: OTel GenAI chat span", () => {
    const events = root({
      name: "chat gpt-4o",
      attributes: {
        "gen_ai.operation.name": "chat",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2024-08-06",
        "gen_ai.request.temperature": 0.7,
        "gen_ai.request.max_tokens": 100,
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 7,
        "gen_ai.usage.cache_read.input_tokens": 2,
        "gen_ai.usage.cost": 0.003,
      },
    });
    const metadata = meta({
      "gen_ai.operation.name": "chat",
      "gen_ai.system": "openai",
      "gen_ai.request.model": "gpt-4o",
      "gen_ai.response.model": "gpt-4o-2024-08-06",
      "gen_ai.request.temperature": "0.7",
      "gen_ai.request.max_tokens": "100",
      "gen_ai.usage.input_tokens": "12",
      "gen_ai.usage.output_tokens": "7",
      "gen_ai.usage.cache_read.input_tokens": "2",
      "gen_ai.usage.cost": "0.003",
    });
    expect(events).toStrictEqual([
      traceEvent(fullTrace({ name: "chat gpt-4o", metadata })),
      obsEvent(
        "generation-create",
        observation({
          name: "chat gpt-4o",
          metadata,
          model: "gpt-4o-2024-08-06",
          modelParameters: { temperature: 0.7, max_tokens: 100 },
          usageDetails: { input: 10, output: 7, input_cached_tokens: 2 },
          costDetails: { total: 0.003 },
        }),
      ),
    ]);
  });

  it("16: prompt/completion/total tokens with reasoning details", () => {
    const { obs, type } = rootPair(
      root({
        attributes: {
          "gen_ai.request.model": "m",
          "gen_ai.usage.prompt_tokens": 30,
          "gen_ai.usage.completion_tokens": 20,
          "gen_ai.usage.total_tokens": 50,
          "gen_ai.usage.completion_details.reasoning": 5,
        },
      }),
    );
    expect(type).toBe("generation-create");
    expect(obs).toStrictEqual(
      observation({
        metadata: meta({
          "gen_ai.request.model": "m",
          "gen_ai.usage.prompt_tokens": "30",
          "gen_ai.usage.completion_tokens": "20",
          "gen_ai.usage.total_tokens": "50",
          "gen_ai.usage.completion_details.reasoning": "5",
        }),
        model: "m",
        usageDetails: { input: 30, output: 15, total: 50, output_reasoning_tokens: 5 },
      }),
    );
  });

  it("17: OTel GenAI tool execution", () => {
    const events = root({
      name: "execute_tool get_weather",
      attributes: {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "get_weather",
        "gen_ai.tool.call.id": "call_1",
        "gen_ai.tool.call.arguments": '{"city":"Paris"}',
        "gen_ai.tool.call.result": "sunny",
      },
    });
    const metadata = meta({
      "gen_ai.operation.name": "execute_tool",
      "gen_ai.tool.name": "get_weather",
      "gen_ai.tool.call.id": "call_1",
    });
    const io = { input: '{"city":"Paris"}', output: "sunny" };
    expect(events).toStrictEqual([
      traceEvent(fullTrace({ name: "get_weather", metadata, ...io })),
      obsEvent("tool-create", observation({ name: "get_weather", metadata, ...io })),
    ]);
  });

  it("18: embeddings operation → embedding-create with model", () => {
    const attributes = { "gen_ai.operation.name": "embeddings", "gen_ai.request.model": "text-embedding-3-small" };
    const metadata = meta(attributes);
    expect(root({ attributes })).toStrictEqual([
      traceEvent(fullTrace({ metadata })),
      obsEvent("embedding-create", observation({ metadata, model: "text-embedding-3-small" })),
    ]);
  });

  it("19: invoke_agent → agent-create without model, usage or cost", () => {
    const attributes = {
      "gen_ai.operation.name": "invoke_agent",
      "gen_ai.request.model": "gpt-4o",
      "gen_ai.usage.input_tokens": 100,
    };
    const metadata = meta({
      "gen_ai.operation.name": "invoke_agent",
      "gen_ai.request.model": "gpt-4o",
      "gen_ai.usage.input_tokens": "100",
    });
    expect(root({ attributes })).toStrictEqual([
      traceEvent(fullTrace({ metadata })),
      obsEvent("agent-create", observation({ metadata, usageDetails: {}, costDetails: {} })),
    ]);
  });

  it("20: gen_ai.input.messages with system instructions prepended, re-stringified", () => {
    const inputMessages = '[{"role":"user","parts":[{"type":"text","content":"hi"}]}]';
    const outputMessages = '[{"role":"assistant","parts":[{"type":"text","content":"yo"}]}]';
    const events = root({
      attributes: {
        "gen_ai.operation.name": "chat",
        "gen_ai.input.messages": inputMessages,
        "gen_ai.output.messages": outputMessages,
        "gen_ai.system_instructions": '[{"type":"text","content":"be nice"}]',
      },
    });
    const metadata = meta({ "gen_ai.operation.name": "chat" });
    const io = {
      input: '[{"role":"system","content":"be nice"},{"role":"user","parts":[{"type":"text","content":"hi"}]}]',
      output: outputMessages,
    };
    expect(events).toStrictEqual([
      traceEvent(fullTrace({ metadata, ...io })),
      obsEvent("generation-create", observation({ metadata, ...io })),
    ]);
  });

  it("21: GenAI message and choice events", () => {
    const events = root({
      attributes: { "gen_ai.request.model": "m" },
      events: [
        { name: "gen_ai.system.message", attributes: { content: "sys" } },
        { name: "gen_ai.user.message", attributes: { content: "hi" } },
        { name: "gen_ai.choice", attributes: { index: 0, finish_reason: "stop", message: '{"content":"yo"}' } },
      ],
    });
    const metadata = meta({ "gen_ai.request.model": "m" });
    const io = {
      input: [
        { role: "system", content: "sys" },
        { role: "user", content: "hi" },
      ],
      output: { index: 0, finish_reason: "stop", message: '{"content":"yo"}' },
    };
    expect(events).toStrictEqual([
      traceEvent(fullTrace({ metadata, ...io })),
      obsEvent("generation-create", observation({ metadata, model: "m", ...io })),
    ]);
  });

  it("22: Semantic Kernel legacy content events → raw JSON strings", () => {
    const prompt = '[{"role":"user","content":"hi"}]';
    const completion = '[{"role":"assistant","content":"yo"}]';
    const events = root({
      events: [
        { name: "gen_ai.content.prompt", attributes: { "gen_ai.prompt": prompt } },
        { name: "gen_ai.content.completion", attributes: { "gen_ai.completion": completion } },
      ],
    });
    expect(events).toStrictEqual([
      traceEvent(fullTrace({ input: prompt, output: completion })),
      obsEvent("span-create", observation({ input: prompt, output: completion })),
    ]);
  });

  it("23: OpenLLMetry flattened gen_ai.prompt.* / gen_ai.completion.*", () => {
    const scope = { name: "opentelemetry.instrumentation.openai.v1", version: "0.40.0" };
    const events = root(
      {
        attributes: {
          "gen_ai.prompt.0.role": "system",
          "gen_ai.prompt.0.content": "sys",
          "gen_ai.prompt.1.role": "user",
          "gen_ai.prompt.1.content": "hi",
          "gen_ai.completion.0.role": "assistant",
          "gen_ai.completion.0.content": "yo",
          "gen_ai.completion.0.finish_reason": "stop",
          "gen_ai.request.model": "gpt-4o-mini",
          "llm.usage.total_tokens": 9,
          "gen_ai.usage.prompt_tokens": 5,
          "gen_ai.usage.completion_tokens": 4,
        },
      },
      { scope },
    );
    const metadata = {
      attributes: {
        "gen_ai.request.model": "gpt-4o-mini",
        "llm.usage.total_tokens": "9",
        "gen_ai.usage.prompt_tokens": "5",
        "gen_ai.usage.completion_tokens": "4",
      },
      resourceAttributes: { "service.name": "svc" },
      scope: scopeMeta(scope),
    };
    const io = {
      input: [
        { role: "system", content: "sys" },
        { role: "user", content: "hi" },
      ],
      output: [{ role: "assistant", content: "yo", finish_reason: "stop" }],
    };
    expect(events).toStrictEqual([
      traceEvent(fullTrace({ metadata, ...io })),
      obsEvent(
        "generation-create",
        observation({ metadata, model: "gpt-4o-mini", usageDetails: { input: 5, output: 4 }, ...io }),
      ),
    ]);
  });

  it("24: Traceloop entity input/output stay raw strings", () => {
    const scope = { name: "traceloop.tracer" };
    const events = root(
      {
        attributes: {
          "traceloop.entity.input": '{"args":[1]}',
          "traceloop.entity.output": '"ok"',
          "traceloop.span.kind": "workflow",
        },
      },
      { scope },
    );
    const metadata = {
      attributes: { "traceloop.span.kind": "workflow" },
      resourceAttributes: { "service.name": "svc" },
      scope: scopeMeta(scope),
    };
    const io = { input: '{"args":[1]}', output: '"ok"' };
    expect(events).toStrictEqual([
      traceEvent(fullTrace({ metadata, ...io })),
      obsEvent("span-create", observation({ metadata, ...io })),
    ]);
  });

  it("25: OpenInference LLM span uses input.value, invocation parameters, token counts and cost", () => {
    const scope = { name: "openinference.instrumentation.openai", version: "0.1.0" };
    const events = root(
      {
        attributes: {
          "openinference.span.kind": "LLM",
          "llm.model_name": "gpt-4o",
          "llm.invocation_parameters": '{"temperature":0.1,"max_tokens":50}',
          "llm.input_messages.0.message.role": "user",
          "llm.input_messages.0.message.content": "hi",
          "llm.output_messages.0.message.role": "assistant",
          "llm.output_messages.0.message.content": "yo",
          "llm.token_count.prompt": 3,
          "llm.token_count.completion": 2,
          "llm.token_count.total": 5,
          "input.value": '{"messages":[]}',
          "output.value": "yo",
          "llm.cost.total": 0.5,
        },
      },
      { scope },
    );
    const metadata = {
      attributes: {
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o",
        "llm.invocation_parameters": '{"temperature":0.1,"max_tokens":50}',
        "llm.token_count.prompt": "3",
        "llm.token_count.completion": "2",
        "llm.token_count.total": "5",
        "llm.cost.total": "0.5",
      },
      resourceAttributes: { "service.name": "svc" },
      scope: scopeMeta(scope),
    };
    const io = { input: '{"messages":[]}', output: "yo" };
    expect(events).toStrictEqual([
      traceEvent(fullTrace({ metadata, ...io })),
      obsEvent(
        "generation-create",
        observation({
          metadata,
          model: "gpt-4o",
          modelParameters: { temperature: 0.1, max_tokens: 50 },
          usageDetails: { input: 3, output: 2, total: 5 },
          costDetails: { total: 0.5 },
          ...io,
        }),
      ),
    ]);
  });

  it("26: OpenInference CHAIN keeps mime types in metadata", () => {
    const events = root({
      attributes: {
        "openinference.span.kind": "CHAIN",
        "input.value": "question?",
        "input.mime_type": "text/plain",
        "output.value": '{"answer":42}',
        "output.mime_type": "application/json",
      },
    });
    const metadata = meta({
      "openinference.span.kind": "CHAIN",
      "input.mime_type": "text/plain",
      "output.mime_type": "application/json",
    });
    const io = { input: "question?", output: '{"answer":42}' };
    expect(events).toStrictEqual([
      traceEvent(fullTrace({ metadata, ...io })),
      obsEvent("chain-create", observation({ metadata, ...io })),
    ]);
  });

  it("27: Vercel AI SDK doGenerate span", () => {
    const scope = { name: "ai" };
    const messages = '[{"role":"user","content":[{"type":"text","text":"hi"}]}]';
    const events = root(
      {
        name: "ai.generateText.doGenerate",
        attributes: {
          "operation.name": "ai.generateText.doGenerate my-fn",
          "ai.operationId": "ai.generateText.doGenerate",
          "ai.telemetry.functionId": "my-fn",
          "ai.model.id": "gpt-4o",
          "ai.model.provider": "openai.chat",
          "ai.prompt.messages": messages,
          "ai.response.text": "yo",
          "gen_ai.usage.input_tokens": 10,
          "gen_ai.usage.output_tokens": 3,
          "ai.usage.tokens": 13,
          "gen_ai.request.temperature": 0.3,
          "ai.telemetry.metadata.userId": "u9",
          "ai.telemetry.metadata.sessionId": "s9",
          "ai.telemetry.metadata.tags": ["t1", "t2"],
          "ai.telemetry.metadata.custom": "x",
          "ai.response.msToFirstChunk": 250.2,
        },
      },
      { scope },
    );
    const metadata = {
      custom: "x",
      attributes: {
        "operation.name": "ai.generateText.doGenerate my-fn",
        "ai.operationId": "ai.generateText.doGenerate",
        "ai.telemetry.functionId": "my-fn",
        "ai.model.id": "gpt-4o",
        "ai.model.provider": "openai.chat",
        "gen_ai.usage.input_tokens": "10",
        "gen_ai.usage.output_tokens": "3",
        "ai.usage.tokens": "13",
        "gen_ai.request.temperature": "0.3",
        "ai.response.msToFirstChunk": "250.2",
      },
      resourceAttributes: { "service.name": "svc" },
      scope: scopeMeta(scope),
    };
    const name = "my-fn:ai.generateText.doGenerate";
    const io = { input: messages, output: "yo" };
    expect(events).toStrictEqual([
      traceEvent(fullTrace({ name, metadata, userId: "u9", sessionId: "s9", tags: ["t1", "t2"], ...io })),
      obsEvent(
        "generation-create",
        observation({
          name,
          metadata,
          model: "gpt-4o",
          completionStartTime: "2023-11-14T22:13:20.251Z",
          usageDetails: { input: 10, output: 3, total: 13 },
          modelParameters: {
            maxSteps: null,
            toolChoice: null,
            maxTokens: null,
            finishReason: null,
            system: "openai.chat",
            maxRetries: null,
            mode: null,
            temperature: "0.3",
            service_tier: null,
          },
          ...io,
        }),
      ),
    ]);
  });

  it("28: Vercel AI SDK tool call", () => {
    const scope = { name: "ai" };
    const events = root(
      {
        name: "ai.toolCall",
        attributes: {
          "operation.name": "ai.toolCall",
          "ai.toolCall.name": "search",
          "ai.toolCall.id": "call-1",
          "ai.toolCall.args": '{"q":"otel"}',
          "ai.toolCall.result": '"found"',
        },
      },
      { scope },
    );
    const metadata = {
      attributes: { "operation.name": "ai.toolCall", "ai.toolCall.name": "search", "ai.toolCall.id": "call-1" },
      resourceAttributes: { "service.name": "svc" },
      scope: scopeMeta(scope),
    };
    const io = { input: '{"q":"otel"}', output: '"found"' };
    const nineNulls = {
      maxSteps: null,
      toolChoice: null,
      maxTokens: null,
      finishReason: null,
      system: null,
      maxRetries: null,
      mode: null,
      temperature: null,
      service_tier: null,
    };
    expect(events).toStrictEqual([
      traceEvent(fullTrace({ name: "search", metadata, ...io })),
      obsEvent(
        "tool-create",
        observation({
          name: "search",
          metadata,
          usageDetails: { input: 0, output: 0 },
          modelParameters: nineNulls,
          ...io,
        }),
      ),
    ]);
  });

  it("29: resource version, environment and release", () => {
    const resource = {
      "service.name": "svc",
      "service.version": "2.1.0",
      "deployment.environment.name": "Staging",
      "langfuse.release": "r-7",
    };
    const events = root({}, { resource });
    const metadata = { attributes: {}, resourceAttributes: resource, scope: scopeMeta() };
    expect(events).toStrictEqual([
      traceEvent(fullTrace({ metadata, environment: "staging", version: "2.1.0", release: "r-7" })),
      obsEvent("span-create", observation({ metadata, environment: "staging", version: "2.1.0" })),
    ]);
  });

  it("30: span environment/version/release win; langfuse- prefix stripped", () => {
    const resource = { "service.name": "svc", "deployment.environment": "qa" };
    const attributes = { "langfuse.environment": "langfuse-prod", "langfuse.version": "v9", "langfuse.release": "span-rel" };
    const events = root({ attributes }, { resource });
    const metadata = { attributes, resourceAttributes: resource, scope: scopeMeta() };
    expect(events).toStrictEqual([
      traceEvent(fullTrace({ metadata, environment: "prod", version: "v9", release: "span-rel" })),
      obsEvent("span-create", observation({ metadata, environment: "prod", version: "v9" })),
    ]);
  });

  it("31: invalid environment → default", () => {
    const attributes = { "langfuse.environment": "My Env!" };
    const metadata = meta(attributes);
    expect(root({ attributes })).toStrictEqual([
      traceEvent(fullTrace({ metadata })),
      obsEvent("span-create", observation({ metadata })),
    ]);
  });

  it.each<[string, Attr, string[], string]>([
    ["32", ["a", "b"], ["a", "b"], '["a","b"]'],
    ["33", "a, b", ["a", "b"], "a, b"],
    ["34", '["a",1]', ["a", "1"], '["a",1]'],
  ])("%s: langfuse.trace.tags %j", (_case, value, tags, inMetadata) => {
    const metadata = meta({ "langfuse.trace.tags": inMetadata });
    expect(root({ attributes: { "langfuse.trace.tags": value } })).toStrictEqual([
      traceEvent(fullTrace({ metadata, tags })),
      obsEvent("span-create", observation({ metadata })),
    ]);
  });

  it("35: metadata composition from resource, trace, observation and legacy keys", () => {
    const resource = { "service.name": "svc", "langfuse.trace.metadata.team": "core" };
    const events = root(
      {
        attributes: {
          "langfuse.trace.metadata": '{"a":1,"nested":{"b":2}}',
          "langfuse.trace.metadata.flat": "f",
          "langfuse.observation.metadata.obs_key": "o",
          "langfuse.metadata.legacy": "l",
          "custom.attr": 42,
          "custom.bool": true,
        },
      },
      { resource },
    );
    const attributes = { "langfuse.metadata.legacy": "l", "custom.attr": "42", "custom.bool": "true" };
    const structural = { attributes, resourceAttributes: resource, scope: scopeMeta() };
    const { trace, obs } = rootPair(events);
    expect(trace).toStrictEqual(
      fullTrace({
        metadata: { team: "core", a: 1, nested: { b: 2 }, flat: "f", legacy: "l", obs_key: "o", ...structural },
      }),
    );
    expect(obs).toStrictEqual(observation({ metadata: { team: "core", obs_key: "o", legacy: "l", ...structural } }));
  });

  it("36: Langfuse SDK scope drops metadata.attributes", () => {
    const resource = { "service.name": "svc", "telemetry.sdk.language": "python" };
    const scope = { name: "langfuse-sdk", version: "3.5.0", attributes: [{ key: "public_key", value: { stringValue: "pk-lf-1" } }] };
    const events = root(
      {
        attributes: {
          "langfuse.observation.type": "span",
          "langfuse.observation.input": '{"x":1}',
          "langfuse.observation.output": '"y"',
          "other.attr": "v",
        },
      },
      { resource, scope },
    );
    const metadata = {
      resourceAttributes: resource,
      scope: { name: "langfuse-sdk", version: "3.5.0", attributes: { public_key: "pk-lf-1" } },
    };
    const io = { input: '{"x":1}', output: '"y"' };
    expect(events).toStrictEqual([
      traceEvent(fullTrace({ metadata, ...io })),
      obsEvent("span-create", observation({ metadata, ...io })),
    ]);
  });

  it("37: Python SDK ≤ 3.3 'span' with a model → generation-create", () => {
    const resource = { "service.name": "svc", "telemetry.sdk.language": "python" };
    const scope = { name: "langfuse-sdk", version: "3.2.1" };
    const { obs, type } = rootPair(
      root(
        { attributes: { "langfuse.observation.type": "span", "langfuse.observation.model.name": "gpt-4o" } },
        { resource, scope },
      ),
    );
    expect(type).toBe("generation-create");
    expect(obs).toStrictEqual(
      observation({
        metadata: { resourceAttributes: resource, scope: scopeMeta(scope) },
        model: "gpt-4o",
      }),
    );
  });

  it("38: langfuse.user.id beats user.id; gen_ai.conversation.id is a session id", () => {
    const attributes = { "user.id": "plain", "langfuse.user.id": "lf", "gen_ai.conversation.id": "conv-1" };
    const metadata = meta(attributes);
    expect(root({ attributes })).toStrictEqual([
      traceEvent(fullTrace({ metadata, userId: "lf", sessionId: "conv-1" })),
      obsEvent("span-create", observation({ metadata })),
    ]);
  });

  it("39: trace input/output and public; the observation output stays absent", () => {
    const events = root({
      attributes: {
        "langfuse.trace.input": "trace-in",
        "langfuse.trace.output": "trace-out",
        "langfuse.observation.input": "obs-in",
        "langfuse.trace.public": "true",
      },
    });
    const metadata = meta({ "langfuse.trace.public": "true" });
    expect(events).toStrictEqual([
      traceEvent(fullTrace({ metadata, input: "trace-in", output: "trace-out", public: true })),
      obsEvent("span-create", observation({ metadata, input: "obs-in", output: undefined })),
    ]);
  });

  it("40: attribute value conversion shows in metadata.attributes as strings", () => {
    const kv = { raw: { kvlistValue: { values: [{ key: "k", value: { stringValue: "v" } }] } } };
    const events = root({
      attributes: {
        i: 7,
        d: 1.5,
        b: false,
        arr: [1, "x"],
        kv,
        by: { raw: { bytesValue: "AQI=" } },
        nan: { raw: { doubleValue: "NaN" } },
      },
    });
    const metadata = meta({
      i: "7",
      d: "1.5",
      b: "false",
      arr: '[1,"x"]',
      kv: '{"kvlistValue":{"values":[{"key":"k","value":{"stringValue":"v"}}]}}',
      by: '{"bytesValue":"AQI="}',
      nan: "NaN",
    });
    expect(events).toStrictEqual([
      traceEvent(fullTrace({ metadata })),
      obsEvent("span-create", observation({ metadata })),
    ]);
  });

  it("41: start as a JSON number, end null → both from start", () => {
    const time = "2023-11-14T22:13:20.123Z";
    const events = root({ start: 1700000000123456789, end: null });
    expect(events).toStrictEqual([
      traceEvent(fullTrace({ timestamp: time })),
      obsEvent("span-create", observation({ startTime: time, endTime: time })),
    ]);
  });

  it("42: base64 string ids are used verbatim", () => {
    const traceId = "CvdlGRbNQ92ESOshHIAxnA==";
    const spanId = "t61rcWkgMzE=";
    expect(root({ traceId, spanId })).toStrictEqual([
      traceEvent(fullTrace({ id: traceId })),
      obsEvent("span-create", observation({ id: spanId, traceId })),
    ]);
  });

  it("43: Buffer-shaped ids become lower-case hex", () => {
    const traceId = { type: "Buffer", data: [...Buffer.from(T, "hex")] };
    const spanId = { type: "Buffer", data: [...Buffer.from(R, "hex")] };
    expect(root({ traceId, spanId })).toStrictEqual([
      traceEvent(fullTrace()),
      obsEvent("span-create", observation()),
    ]);
  });

  it("44 (schema): a string prompt version stays a string in the raw event", () => {
    const attributes = {
      "langfuse.observation.type": "generation",
      "langfuse.observation.prompt.name": "p",
      "langfuse.observation.prompt.version": "3",
    };
    const metadata = meta(attributes);
    expect(root({ attributes })).toStrictEqual([
      traceEvent(fullTrace({ metadata })),
      obsEvent("generation-create", observation({ metadata, promptName: "p", promptVersion: "3" })),
    ]);
  });

  it("45: tool definitions move into the observation input; the trace keeps them in metadata", () => {
    const definitions = '[{"type":"function","name":"get_weather","parameters":{}}]';
    const events = root({
      attributes: {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "m",
        "gen_ai.input.messages": '[{"role":"user","content":"hi"}]',
        "gen_ai.tool.definitions": definitions,
      },
    });
    expect(events).toStrictEqual([
      traceEvent(
        fullTrace({
          metadata: meta({
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "m",
            "gen_ai.tool.definitions": definitions,
          }),
          input: '[{"role":"user","content":"hi"}]',
          output: undefined,
        }),
      ),
      obsEvent(
        "generation-create",
        observation({
          metadata: meta({ "gen_ai.operation.name": "chat", "gen_ai.request.model": "m" }),
          model: "m",
          input: {
            messages: [{ role: "user", content: "hi" }],
            tools: [{ type: "function", name: "get_weather", parameters: {} }],
          },
          output: undefined,
        }),
      ),
    ]);
  });

  it("46: MLflow span inputs/outputs; spanType is not mapped", () => {
    const scope = { name: "mlflow.tracing" };
    const events = root(
      { attributes: { "mlflow.spanInputs": '{"q":1}', "mlflow.spanOutputs": '"a"', "mlflow.spanType": "LLM" } },
      { scope },
    );
    const metadata = {
      attributes: { "mlflow.spanType": "LLM" },
      resourceAttributes: { "service.name": "svc" },
      scope: scopeMeta(scope),
    };
    const io = { input: '{"q":1}', output: '"a"' };
    expect(events).toStrictEqual([
      traceEvent(fullTrace({ metadata, ...io })),
      obsEvent("span-create", observation({ metadata, ...io })),
    ]);
  });

  it("47: pydantic-ai agent run: Logfire name, all_messages/final_result, generic usage", () => {
    const scope = { name: "pydantic-ai" };
    const messages = '[{"role":"user","parts":[{"type":"text","content":"hi"}]}]';
    const events = root(
      {
        name: "agent run",
        attributes: {
          "logfire.msg": "my_agent run",
          "pydantic_ai.all_messages": messages,
          final_result: "done",
          "gen_ai.usage.input_tokens": 4,
          model_name: "gpt-4o",
        },
      },
      { scope },
    );
    const metadata = {
      attributes: { "logfire.msg": "my_agent run", "gen_ai.usage.input_tokens": "4", model_name: "gpt-4o" },
      resourceAttributes: { "service.name": "svc" },
      scope: scopeMeta(scope),
    };
    const io = { input: messages, output: "done" };
    expect(events).toStrictEqual([
      traceEvent(fullTrace({ name: "my_agent run", metadata, ...io })),
      obsEvent("span-create", observation({ name: "my_agent run", metadata, usageDetails: { input: 4 }, ...io })),
    ]);
  });

  it("48: OpenInference AGENT", () => {
    const attributes = { "openinference.span.kind": "AGENT", "input.value": "task", "output.value": "result" };
    const metadata = meta({ "openinference.span.kind": "AGENT" });
    const io = { input: "task", output: "result" };
    expect(root({ attributes })).toStrictEqual([
      traceEvent(fullTrace({ metadata, ...io })),
      obsEvent("agent-create", observation({ metadata, ...io })),
    ]);
  });

  it("49: a plain `model` attribute makes a generation", () => {
    const attributes = { model: "claude-3" };
    const metadata = meta(attributes);
    expect(root({ attributes })).toStrictEqual([
      traceEvent(fullTrace({ metadata })),
      obsEvent("generation-create", observation({ metadata, model: "claude-3" })),
    ]);
  });

  it("50 (seen): only langfuse.trace.metadata.k → nameless trace update", () => {
    const events = view(convert(request({ spans: [child({ attributes: { "langfuse.trace.metadata.k": "v" } })] })));
    const expected = [
      traceEvent(traceUpdate({ metadata: meta(null, { k: "v" }) })),
      obsEvent("span-create", childObservation()),
    ];
    expect(events).toStrictEqual(expected);
    expect(withoutShallow(events)).toStrictEqual(expected);
  });

  it("51: two children of an unseen trace → one shallow trace-create", () => {
    const c2 = "2222222222222222";
    const events = view(convert(request({ spans: [child(), child({ spanId: c2 })] })));
    expect(events).toStrictEqual([
      traceEvent(shallow(), 0, true),
      obsEvent("span-create", childObservation(), 0),
      obsEvent("span-create", childObservation({ id: c2 }), 1),
    ]);
  });

  it("56: the same two children in separate resourceSpans → still one shallow trace-create", () => {
    const c2 = "2222222222222222";
    const events = view(
      convert([resourceSpans({ spans: [child()] }), resourceSpans({ spans: [child({ spanId: c2 })] })]),
    );
    expect(events).toStrictEqual([
      traceEvent(shallow(), 0, true),
      obsEvent("span-create", childObservation(), 0),
      obsEvent("span-create", childObservation({ id: c2 }), 1),
    ]);
  });

  it("52: exception events, links, traceState and dropped counts are ignored", () => {
    const events = root({
      events: [{ name: "exception", attributes: { "exception.message": "bad", "exception.type": "Error" } }],
      extra: {
        links: [{ traceId: T, spanId: C, attributes: [] }],
        traceState: "k=v",
        droppedAttributesCount: 3,
        droppedEventsCount: 1,
        flags: 257,
      },
    });
    expect(events).toStrictEqual([traceEvent(fullTrace()), obsEvent("span-create", observation())]);
  });

  it("53: status OK still copies the message", () => {
    expect(root({ status: { code: 1, message: "fine" } })).toStrictEqual([
      traceEvent(fullTrace()),
      obsEvent("span-create", observation({ level: "DEFAULT", statusMessage: "fine" })),
    ]);
  });

  it("54: LiveKit plumbing span → DEBUG", () => {
    const scope = { name: "livekit-agents" };
    const metadata = { attributes: {}, resourceAttributes: { "service.name": "svc" }, scope: scopeMeta(scope) };
    expect(root({ name: "tts_node" }, { scope })).toStrictEqual([
      traceEvent(fullTrace({ name: "tts_node", metadata })),
      obsEvent("span-create", observation({ name: "tts_node", metadata, level: "DEBUG" })),
    ]);
  });

  it("55: resource user.id / session.id / langfuse.trace.name are ignored", () => {
    const resource = { "service.name": "svc", "user.id": "u", "session.id": "s", "langfuse.trace.name": "n" };
    const metadata = { attributes: {}, resourceAttributes: resource, scope: scopeMeta() };
    expect(root({}, { resource })).toStrictEqual([
      traceEvent(fullTrace({ metadata })),
      obsEvent("span-create", observation({ metadata })),
    ]);
  });

  it("57 (schema): a pydantic-ai span-create still carries the generation fields raw", () => {
    const scope = { name: "pydantic-ai" };
    const { obs, type } = rootPair(
      root({ attributes: { "gen_ai.usage.input_tokens": 4, "gen_ai.request.temperature": 0.5 } }, { scope }),
    );
    expect(type).toBe("span-create");
    expect(obs).toStrictEqual(
      observation({
        metadata: {
          attributes: { "gen_ai.usage.input_tokens": "4", "gen_ai.request.temperature": "0.5" },
          resourceAttributes: { "service.name": "svc" },
          scope: scopeMeta(scope),
        },
        modelParameters: { temperature: 0.5 },
        usageDetails: { input: 4 },
      }),
    );
  });

  it("58 (schema): tool-create keeps modelParameters {} and usage", () => {
    const { obs, type } = rootPair(root({ attributes: { "gen_ai.tool.name": "t", "gen_ai.usage.input_tokens": 4 } }));
    expect(type).toBe("tool-create");
    expect(obs).toStrictEqual(
      observation({
        name: "t",
        metadata: meta({ "gen_ai.tool.name": "t", "gen_ai.usage.input_tokens": "4" }),
        modelParameters: {},
        usageDetails: { input: 4 },
      }),
    );
  });

  it("59 (schema): explicit usage/cost details are passed through raw for the schema to filter", () => {
    const attributes = {
      "langfuse.observation.usage_details": '{"input":"12","bad":-1,"f":1.5}',
      "langfuse.observation.cost_details": '{"total":"0.1","input":0.2}',
    };
    const { obs } = rootPair(root({ attributes }));
    expect(obs).toStrictEqual(
      observation({
        metadata: meta(attributes),
        usageDetails: { input: "12", bad: -1, f: 1.5 },
        costDetails: { total: "0.1", input: 0.2 },
      }),
    );
  });

  it("60: invalid usage_details JSON falls through to the generic rule", () => {
    const attributes = { "langfuse.observation.usage_details": "{not json", "gen_ai.usage.input_tokens": 9 };
    const { obs } = rootPair(root({ attributes }));
    expect(obs).toStrictEqual(
      observation({
        metadata: meta({ "langfuse.observation.usage_details": "{not json", "gen_ai.usage.input_tokens": "9" }),
        usageDetails: { input: 9 },
      }),
    );
  });

  it("61: an array observation input wins; input.value is ignored and not in metadata", () => {
    const events = root({ attributes: { "langfuse.observation.input": ["a", "b"], "input.value": "ignored" } });
    expect(events).toStrictEqual([
      traceEvent(fullTrace({ input: ["a", "b"], output: undefined })),
      obsEvent("span-create", observation({ input: ["a", "b"], output: undefined })),
    ]);
  });

  it("62: gen_ai.conversation.id on a child is not a trace update", () => {
    const events = view(convert(request({ spans: [child({ attributes: { "gen_ai.conversation.id": "conv" } })] })));
    expect(events).toStrictEqual([
      traceEvent(shallow(), 0, true),
      obsEvent("span-create", childObservation({ metadata: meta({ "gen_ai.conversation.id": "conv" }) })),
    ]);
  });

  it("63: array metadata spreads as index keys; dotted suffixes stay flat; structural keys win", () => {
    const events = root({
      attributes: {
        "langfuse.observation.metadata": '["x","y"]',
        "langfuse.observation.metadata.a.b": "deep",
        "langfuse.observation.metadata.attributes": "user-attr",
      },
    });
    const metadata = meta({}, { 0: "x", 1: "y", "a.b": "deep" });
    expect(events).toStrictEqual([
      traceEvent(fullTrace({ metadata })),
      obsEvent("span-create", observation({ metadata })),
    ]);
  });
});

describe("envelopes", () => {
  it("uses the injected id generator per event and the clock for observation timestamps", () => {
    const result = convert(request({ spans: [span(), child()] }));
    expect(result.events.map((e) => [e.event.id, e.event.type, e.event.timestamp])).toStrictEqual([
      ["e1", "trace-create", START],
      ["e2", "span-create", NOW],
      ["e3", "span-create", NOW],
    ]);
  });

  it("defaults to random UUIDs and the wall clock", () => {
    const before = Date.now();
    const result = convertResourceSpans(request({ spans: [span()] }));
    const after = Date.now();
    const ids = result.events.map((e) => e.event.id);
    expect(ids).toHaveLength(2);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(2);
    expect(result.events[0]?.event.timestamp).toBe(START);
    const observationTime = Date.parse(result.events[1]?.event.timestamp ?? "");
    expect(observationTime).toBeGreaterThanOrEqual(before);
    expect(observationTime).toBeLessThanOrEqual(after);
  });
});
