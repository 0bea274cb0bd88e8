import { describe, expect, it } from "vitest";
import { pino } from "pino";
import type { ProcessorSettings } from "../../../src/pipeline/component.js";
import type { RequestContext } from "../../../src/pipeline/payload.js";
import { EventBatch } from "../../../src/pipeline/batch.js";
import { exportContext } from "../../support/export-groups.js";
import { SpanBatch } from "../../../src/pipeline/span-batch.js";
import { toEventRecords } from "../../../src/pipeline/events-pipeline.js";
import { OtlpTraceRequest } from "../../../src/otlp/trace-request.js";
import { redactProcessorFactory } from "../../../src/processors/redact/factory.js";
import { metrics } from "../../../src/telemetry/metrics.js";
import { resourceSpans, span, toJson, toProtobuf } from "../../support/otlp.js";
import { SECRETS } from "./secrets.js";

const settings: ProcessorSettings = { id: { type: "redact", name: undefined, text: "redact" }, logger: pino({ level: "silent" }), metrics, pipeline: "test" };
const redact = (config: unknown = {}) => redactProcessorFactory.create(settings, redactProcessorFactory.configSchema.parse(config));
const context = (projectId = "p1"): RequestContext => exportContext({ scope: { projectId, accessLevel: "project", publicKey: "pk" } });

const leaky = () =>
  resourceSpans([
    {
      ...span({
        name: "mail ann@example.com",
        attributes: {
          "gen_ai.prompt": JSON.stringify([{ role: "user", content: `my key is ${SECRETS.openai_key[0]}` }]),
          "http.request.header.authorization": "Bearer abc",
          "app.count": 3,
        },
        status: { code: 2, message: `failed for ${SECRETS.aws_access_key[0]}` },
      }),
      events: [{ name: "gen_ai.user.message", timeUnixNano: "1700000000500000000", attributes: [{ key: "content", value: { stringValue: "call 4111 1111 1111 1111" } }] }],
    },
  ]);

async function storedByOtelPipeline(request: OtlpTraceRequest, config: unknown = { keys: ["*authorization*"] }): Promise<string> {
  const batch = new SpanBatch(context(), request);
  await redact(config).processSpans(batch);
  return batch.serialise().toString("utf8");
}

describe("redact in an otel pipeline", () => {
  for (const [encoding, request] of [
    ["OTLP/JSON", () => OtlpTraceRequest.fromJson(toJson(leaky()))],
    ["protobuf", () => OtlpTraceRequest.fromProtobuf(toProtobuf(leaky()))],
  ] as const) {
    it(`${encoding}: stores names, attributes, event attributes and status messages redacted, as valid JSON`, async () => {
      const stored = await storedByOtelPipeline(request());
      for (const secret of ["ann@example.com", SECRETS.openai_key[0], "Bearer abc", SECRETS.aws_access_key[0], "4111 1111 1111 1111"]) expect(stored).not.toContain(secret);
      const [resource] = JSON.parse(stored) as Array<{ scopeSpans: Array<{ spans: Array<Record<string, any>> }> }>;
      const stored0 = resource!.scopeSpans[0]!.spans[0]!;
      expect(stored0.name).toBe("mail [REDACTED]");
      const attributes = Object.fromEntries((stored0.attributes as Array<{ key: string; value: unknown }>).map(({ key, value }) => [key, value]));
      expect(JSON.parse((attributes["gen_ai.prompt"] as { stringValue: string }).stringValue)).toEqual([{ role: "user", content: "my key is [REDACTED]" }]);
      expect(attributes["http.request.header.authorization"]).toEqual({ stringValue: "[REDACTED]" });
      expect(attributes["app.count"]).toEqual({ intValue: encoding === "protobuf" ? "3" : "3" });
      expect(stored0.status.message).toBe("failed for [REDACTED]");
      expect(stored0.events[0].attributes[0].value).toEqual({ stringValue: "call [REDACTED]" });
    });
  }

  it("an int attribute holding a card number becomes text; other ints stay ints", async () => {
    const data = resourceSpans([span({ attributes: { "payment.card": 4111111111111111, "http.status_code": 200 } })]);
    for (const request of [OtlpTraceRequest.fromJson(toJson(data)), OtlpTraceRequest.fromProtobuf(toProtobuf(data))]) {
      const stored = await storedByOtelPipeline(request);
      expect(stored).toContain('{"key":"payment.card","value":{"stringValue":"[REDACTED]"}}');
      expect(stored).toContain('{"key":"http.status_code","value":{"intValue":"200"}}');
    }
  });

  it("redacting a protobuf request's stored text in place leaves ids, keys and scope names alone, as the walk does", async () => {
    // A span id whose hex is all digits and a valid card number; the same digits as a value.
    const digits = "4111111111111111";
    const data = resourceSpans([span({ spanId: digits, name: `to ann@example.com`, attributes: { [`note ann@example.com`]: `card ${digits}`, "gen_ai.prompt": '[{"content": "ann@example.com"}]' } })], { name: "ann@example.com", version: "1" });
    const stored = await storedByOtelPipeline(OtlpTraceRequest.fromProtobuf(toProtobuf(data)));
    const spanOut = (JSON.parse(stored) as Array<{ scopeSpans: Array<{ scope: { name: string }; spans: Array<Record<string, any>> }> }>)[0]!.scopeSpans[0]!;
    expect(spanOut.scope.name).toBe("ann@example.com");
    expect(spanOut.spans[0]!.spanId).toBe(digits);
    expect(spanOut.spans[0]!.name).toBe("to [REDACTED]");
    expect(spanOut.spans[0]!.attributes[0]).toEqual({ key: "note ann@example.com", value: { stringValue: "card [REDACTED]" } });
    // Redacted where it stands (the walk would have rewritten the JSON compactly).
    expect(spanOut.spans[0]!.attributes[1]).toEqual({ key: "gen_ai.prompt", value: { stringValue: '[{"content": "[REDACTED]"}]' } });
  });

  it("spans dropped after redact (sampling, filter) leave the redacted text redacted", async () => {
    const data = resourceSpans([
      span({ traceId: "1".repeat(32), spanId: "1".repeat(16), name: "keep ann@example.com" }),
      span({ traceId: "2".repeat(32), spanId: "2".repeat(16), name: "drop ann@example.com" }),
    ]);
    const batch = new SpanBatch(context(), OtlpTraceRequest.fromProtobuf(toProtobuf(data)));
    await redact().processSpans(batch);
    expect(batch.retainByTraceId((traceId) => traceId === "1".repeat(32))).toBe(1);
    const stored = batch.serialise().toString("utf8");
    expect(stored).not.toContain("ann@example.com");
    expect(stored).toContain("keep [REDACTED]");
    expect(stored).not.toContain("drop");
  });

  it("a key rule with non-ASCII letters still selects its key in a protobuf request (the text scan cannot see it)", async () => {
    const data = resourceSpans([span({ attributes: { "clé.privée": "s3cret", note: "ann@example.com" } })]);
    const batch = new SpanBatch(context(), OtlpTraceRequest.fromProtobuf(toProtobuf(data)));
    await redact({ keys: ["clé.*"] }).processSpans(batch);
    const stored = batch.serialise().toString("utf8");
    expect(stored).toContain('{"key":"clé.privée","value":{"stringValue":"[REDACTED]"}}');
    expect(stored).not.toContain("ann@example.com");
  });

  it("a number a text's JSON holds, or an intValue, makes a protobuf request take the walk, which writes it as text", async () => {
    const data = resourceSpans([span({ attributes: { "gen_ai.prompt": '{"card":4111111111111111, "to":"ann@example.com"}' } })]);
    const stored = await storedByOtelPipeline(OtlpTraceRequest.fromProtobuf(toProtobuf(data)));
    expect(stored).toContain(String.raw`{\"card\":\"[REDACTED]\",\"to\":\"[REDACTED]\"}`);
  });

  it("a request with nothing to redact is stored byte for byte as it would be without redact", async () => {
    const clean = resourceSpans([span({ attributes: { "gen_ai.prompt": "hello", n: 1 } })]);
    for (const make of [() => OtlpTraceRequest.fromJson(toJson(clean)), () => OtlpTraceRequest.fromProtobuf(toProtobuf(clean))]) {
      const without = new SpanBatch(context(), make()).serialise().toString("utf8");
      expect(await storedByOtelPipeline(make())).toBe(without);
    }
  });

  it("per-project rules add to the default ones, or replace them with inherit: false", async () => {
    const config = { detectors: ["email"], projects: { p2: { keys: ["app.*"] }, p3: { inherit: false, detectors: ["aws_access_key"] } } };
    const storedFor = async (projectId: string) => {
      const batch = new SpanBatch(context(projectId), OtlpTraceRequest.fromJson(toJson(leaky())));
      await redact(config).processSpans(batch);
      return batch.serialise().toString("utf8");
    };
    const p1 = await storedFor("p1");
    expect(p1).not.toContain("ann@example.com");
    expect(p1).toContain('"app.count","value":{"intValue":"3"}');
    const p2 = await storedFor("p2");
    expect(p2).not.toContain("ann@example.com");
    expect(p2).toContain('"app.count","value":{"stringValue":"[REDACTED]"}');
    const p3 = await storedFor("p3");
    expect(p3).toContain("ann@example.com");
    expect(p3).not.toContain(SECRETS.aws_access_key[0]);
  });

  it("counts replacements per rule in redactions_total", async () => {
    const counts = async () => {
      const samples = (await metrics.redactions.get()).values.filter((sample) => sample.labels.pipeline === "test");
      return new Map(samples.map((sample) => [String(sample.labels.rule), sample.value]));
    };
    const before = await counts();
    await storedByOtelPipeline(OtlpTraceRequest.fromJson(toJson(leaky())));
    const after = await counts();
    const added = (rule: string) => (after.get(rule) ?? 0) - (before.get(rule) ?? 0);
    expect([added("email"), added("key:*authorization*"), added("payment_card"), added("openai_key"), added("aws_access_key")]).toEqual([1, 1, 1, 1, 1]);
  });
});

describe("redact in an events pipeline", () => {
  it("sees an OTLP request as spans before conversion: a key rule on the attribute a prompt came from blanks the input", async () => {
    // Without the span's message events, which Langfuse would read the input from first.
    const data = leaky();
    delete (data[0]!.scopeSpans[0]!.spans[0] as { events?: unknown }).events;
    const request = OtlpTraceRequest.fromJson(toJson(data));
    const { records } = await toEventRecords({ kind: "otlp", request }, context(), [redact({ keys: ["gen_ai.prompt", "*authorization*"] })], undefined);
    const observation = records.map(({ event }) => event).find((event) => event.type !== "trace-create")!;
    const text = JSON.stringify(records);
    for (const secret of ["ann@example.com", SECRETS.openai_key[0], "Bearer abc", SECRETS.aws_access_key[0]]) expect(text).not.toContain(secret);
    expect(observation.body.input).toBe("[REDACTED]");
    expect(observation.body.name).toBe("mail [REDACTED]");
  });

  it("redacts native ingestion events: content fields, never ids, times or usage; user ids become pseudonyms with hash", async () => {
    const events = [
      {
        id: "e1",
        type: "trace-create",
        timestamp: "2026-01-01T00:00:00.000Z",
        body: { id: "t-ann@example.com", userId: "ann@example.com", name: "chat", input: { messages: [{ content: "ann@example.com" }], token: "t" }, tags: ["ann@example.com"] },
      },
      {
        id: "e2",
        type: "generation-create",
        timestamp: "2026-01-01T00:00:00.000Z",
        body: { id: "g1", traceId: "t-ann@example.com", startTime: "2026-01-01T00:00:00.000Z", output: `key ${SECRETS.anthropic_key[0]}`, usage: { input: 4111111111111111 }, metadata: { token: 5 } },
      },
    ];
    const batch = new EventBatch(context(), events.map((event, origin) => ({ event: structuredClone(event), origin })));
    await redact({ with: "hash", hash_key: "h".repeat(32), keys: ["token"] }).process(batch);
    const [trace, generation] = [...batch.records()].map(({ event }) => event.body) as Array<Record<string, any>>;
    expect(trace!.id).toBe("t-ann@example.com");
    expect(trace!.userId).toMatch(/^\[HASH:[0-9a-f]{16}\]$/);
    expect(trace!.input.messages[0].content).toBe(trace!.userId);
    expect(trace!.tags).toEqual([trace!.userId]);
    expect(trace!.input.token).toMatch(/^\[HASH:/);
    expect(trace!.name).toBe("chat");
    expect(generation!.traceId).toBe("t-ann@example.com");
    expect(generation!.output).toMatch(/^key \[HASH:[0-9a-f]{16}\]$/);
    expect(generation!.usage).toEqual({ input: 4111111111111111 });
    expect(generation!.metadata.token).toMatch(/^\[HASH:/);
  });
});

describe("redact's config", () => {
  const problems = (config: unknown) => {
    const parsed = redactProcessorFactory.configSchema.safeParse(config);
    return parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  };

  it("refuses what cannot work, saying where", () => {
    expect(problems({ with: "hash" })).toEqual(["hash_key: with: hash needs a hash_key"]);
    expect(problems({ patterns: [{ name: "bad", regex: "(" }] })[0]).toMatch(/^patterns\.0\.regex: not a valid regular expression/);
    expect(problems({ marker: "see ann@example.com" })).toEqual(["marker: the marker would itself be redacted by the rules of the default"]);
    expect(problems({ detectors: ["email", "phone"] })[0]).toMatch(/^detectors/);
    expect(problems({})).toEqual([]);
  });
});
