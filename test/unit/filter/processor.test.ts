import { describe, expect, it } from "vitest";
import { pino } from "pino";
import type { ProcessorSettings } from "../../../src/pipeline/component.js";
import { EventBatch } from "../../../src/pipeline/batch.js";
import { SpanBatch } from "../../../src/pipeline/span-batch.js";
import { toEventRecords } from "../../../src/pipeline/events-pipeline.js";
import { OtlpTraceRequest } from "../../../src/otlp/trace-request.js";
import { filterProcessorFactory } from "../../../src/processors/filter/factory.js";
import { metrics } from "../../../src/telemetry/metrics.js";
import { exportContext } from "../../support/export-groups.js";
import { span, toJson, toProtobuf } from "../../support/otlp.js";

const settings: ProcessorSettings = { id: { type: "filter", name: undefined, text: "filter" }, logger: pino({ level: "silent" }), metrics, pipeline: "filter-test" };
const filter = (config: unknown) => filterProcessorFactory.create(settings, filterProcessorFactory.configSchema.parse(config));

const T1 = "11111111111111111111111111111111";
const T2 = "22222222222222222222222222222222";
const ids = { root: "1000000000000001", health: "1000000000000002", dns: "1000000000000003", openai: "1000000000000004", metrics: "2000000000000001", tool: "1000000000000005" };

/**
 * Trace T1: a Langfuse SDK root, an HTTP auto-instrumented child, under it a DNS span of another
 * library and an OpenAI instrumentation span; a tool span under the root. Trace T2: one failed
 * HTTP span.
 */
function request() {
  return [
    {
      resource: { attributes: [{ key: "service.name", value: { stringValue: "chat-api" } }, { key: "deployment.environment", value: { stringValue: "prod" } }] },
      scopeSpans: [
        { scope: { name: "langfuse-sdk", version: "5.0.0" }, spans: [span({ traceId: T1, spanId: ids.root, name: "chat", attributes: { "langfuse.observation.type": "generation" } })] },
        {
          scope: { name: "@opentelemetry/instrumentation-http", version: "1.0" },
          spans: [
            span({ traceId: T1, spanId: ids.health, parentSpanId: ids.root, name: "GET /health", attributes: { "http.method": "GET", "http.status_code": 200 } }),
            span({ traceId: T2, spanId: ids.metrics, name: "GET /metrics", attributes: { "http.method": "GET" }, status: { code: 2, message: "boom" } }),
          ],
        },
        { scope: { name: "dns-lib", version: "1.0" }, spans: [span({ traceId: T1, spanId: ids.dns, parentSpanId: ids.health, name: "dns.lookup" })] },
        {
          scope: { name: "opentelemetry.instrumentation.openai.v1", version: "1.0" },
          spans: [span({ traceId: T1, spanId: ids.openai, parentSpanId: ids.health, name: "openai.chat", attributes: { "gen_ai.system": "openai" } })],
        },
        { scope: { name: "my-app", version: "1.0" }, spans: [span({ traceId: T1, spanId: ids.tool, parentSpanId: ids.root, name: "lookup", attributes: { "gen_ai.tool.name": "search" } })] },
      ],
    },
  ];
}

const encodings = [
  ["OTLP/JSON", () => OtlpTraceRequest.fromJson(toJson(request()))],
  ["protobuf", () => OtlpTraceRequest.fromProtobuf(toProtobuf(request()))],
] as const;

interface StoredSpan {
  name: string;
  spanId: string;
  parentSpanId?: string;
}

/** The stored spans of an otel pipeline run through `config`, by name, and the batch. */
async function filtered(make: () => OtlpTraceRequest, config: unknown) {
  const batch = new SpanBatch(exportContext(), make());
  await filter(config).processSpans(batch);
  const stored = JSON.parse(batch.serialise().toString("utf8")) as Array<{ scopeSpans: Array<{ scope: { name: string }; spans: StoredSpan[] }> }>;
  const spans = stored.flatMap((resource) => resource.scopeSpans.flatMap((scope) => scope.spans));
  return { batch, names: spans.map((stored) => stored.name), byName: new Map(spans.map((stored) => [stored.name, stored])), scopes: stored.flatMap((resource) => resource.scopeSpans.map((scope) => scope.scope.name)) };
}

describe("filter on OTLP spans", () => {
  for (const [encoding, make] of encodings) {
    it(`${encoding}: the langfuse_sdk_default preset keeps the Langfuse SDK's, GenAI and known LLM instrumentation spans, and removes empty scopes`, async () => {
      const { names, scopes, batch } = await filtered(make, { keep: [{ preset: "langfuse_sdk_default" }] });
      expect(names).toEqual(["chat", "openai.chat", "lookup"]);
      expect(scopes).toEqual(["langfuse-sdk", "opentelemetry.instrumentation.openai.v1", "my-app"]);
      expect(batch.spanCount).toBe(3);
      expect(batch.drops.get("filtered")).toBe(3);
    });

    it(`${encoding}: drop rules select by span name, scope, status, observation type and (resource) attributes`, async () => {
      const drops = async (rule: Record<string, unknown>) => {
        const { names } = await filtered(make, { drop: [rule] });
        return ["chat", "GET /health", "GET /metrics", "dns.lookup", "openai.chat", "lookup"].filter((name) => !names.includes(name));
      };
      expect(await drops({ span_name: { regex: "^GET /(health|ready)$" } })).toEqual(["GET /health"]);
      expect(await drops({ span_name: ["dns.lookup", { prefix: "openai." }] })).toEqual(["dns.lookup", "openai.chat"]);
      expect(await drops({ scope_name: { prefix: "@opentelemetry/instrumentation-" } })).toEqual(["GET /health", "GET /metrics"]);
      expect(await drops({ status: "error" })).toEqual(["GET /metrics"]);
      expect(await drops({ observation_type: ["generation", "TOOL"] })).toEqual(["chat", "lookup"]);
      expect(await drops({ attributes: { "http.status_code": 200 } })).toEqual(["GET /health"]);
      expect(await drops({ attributes: { "http.method": { exists: true }, "http.status_code": { exists: false } } })).toEqual(["GET /metrics"]);
      expect(await drops({ attributes: { "gen_ai.system": { regex: "^open" } } })).toEqual(["openai.chat"]);
      expect(await drops({ resource_attributes: { "deployment.environment": "prod" }, span_name: "chat" })).toEqual(["chat"]);
      expect(await drops({ resource_attributes: { "deployment.environment": "dev" } })).toEqual([]);
    });

    it(`${encoding}: children of a dropped span are kept (parent missing), reparented to the nearest kept ancestor, or dropped`, async () => {
      const rule = { drop: [{ scope_name: "@opentelemetry/instrumentation-http" }] };
      const kept = await filtered(make, { ...rule, orphans: "keep" });
      expect(kept.byName.get("openai.chat")!.parentSpanId).toBe(ids.health);
      expect(kept.byName.get("dns.lookup")!.parentSpanId).toBe(ids.health);

      const reparented = await filtered(make, { ...rule, orphans: "reparent" });
      expect(reparented.byName.get("openai.chat")!.parentSpanId).toBe(ids.root);
      expect(reparented.byName.get("dns.lookup")!.parentSpanId).toBe(ids.root);
      expect(reparented.byName.get("lookup")!.parentSpanId).toBe(ids.root);
      expect(reparented.names).toEqual(["chat", "dns.lookup", "openai.chat", "lookup"]);

      const dropped = await filtered(make, { ...rule, orphans: "drop" });
      expect(dropped.names).toEqual(["chat", "lookup"]);
    });

    it(`${encoding}: a dropped root makes its children roots when reparented`, async () => {
      const { byName } = await filtered(make, { drop: [{ span_name: ["chat", "GET /health"] }], orphans: "reparent" });
      expect(byName.get("openai.chat")!.parentSpanId).toBeUndefined();
      expect(byName.get("lookup")!.parentSpanId).toBeUndefined();
    });

    it(`${encoding}: a trace-level rule drops every span of the traces it selects, and keeps traces whole`, async () => {
      expect((await filtered(make, { drop: [{ span_name: "dns.lookup", level: "trace" }] })).names).toEqual(["GET /metrics"]);
      expect((await filtered(make, { keep: [{ attributes: { "gen_ai.system": { exists: true } }, level: "trace" }] })).names).toEqual([
        "chat",
        "GET /health",
        "dns.lookup",
        "openai.chat",
        "lookup",
      ]);
    });

    it(`${encoding}: keep and drop together: drop applies to what keep kept; drops count per rule`, async () => {
      const count = async () => new Map((await metrics.filterDrops.get()).values.filter((sample) => sample.labels.pipeline === "filter-test").map((sample) => [String(sample.labels.rule), sample.value]));
      const before = await count();
      const { names } = await filtered(make, { keep: [{ preset: "langfuse_js_sdk_default" }], drop: [{ name: "tools", observation_type: "tool" }] });
      expect(names).toEqual(["chat", "openai.chat"]);
      const after = await count();
      const added = (rule: string) => (after.get(rule) ?? 0) - (before.get(rule) ?? 0);
      expect([added("not_kept"), added("tools")]).toEqual([3, 1]);
    });
  }

  it("works after another processor dropped spans of a protobuf request (the text and the mask stay aligned)", async () => {
    const batch = new SpanBatch(exportContext(), OtlpTraceRequest.fromProtobuf(toProtobuf(request())));
    expect(batch.retainByTraceId((traceId) => traceId !== T2)).toBe(1);
    // Written once with the mask, as an earlier serialise would.
    batch.serialise();
    await filter({ drop: [{ span_name: "dns.lookup" }] }).processSpans(batch);
    const names = (JSON.parse(batch.serialise().toString("utf8")) as Array<{ scopeSpans: Array<{ spans: StoredSpan[] }> }>).flatMap((resource) =>
      resource.scopeSpans.flatMap((scope) => scope.spans.map((stored) => stored.name)),
    );
    expect(names).toEqual(["chat", "GET /health", "openai.chat", "lookup"]);
  });

  it("in an events pipeline, dropped spans never become events, and rejections keep the request's span indices", async () => {
    const data = request();
    (data[0]!.scopeSpans[4]!.spans[0] as Record<string, unknown>).traceId = 12345;
    const { records, rejections } = await toEventRecords({ kind: "otlp", request: OtlpTraceRequest.fromJson(toJson(data)) }, exportContext(), [filter({ keep: [{ preset: "langfuse_sdk_default" }] })], undefined);
    const names = records.filter(({ event }) => event.type !== "trace-create").map(({ event }) => (event.body as { name?: string }).name);
    expect(names).toEqual(["chat", "openai.chat"]);
    expect(records.find(({ event }) => (event.body as { name?: string }).name === "openai.chat")!.origin).toBe(4);
    expect(rejections.map((rejection) => rejection.origin)).toEqual([5]);
  });
});

describe("filter on native ingestion events", () => {
  const events = () => [
    { id: "e1", type: "trace-create", timestamp: "2026-01-01T00:00:00.000Z", body: { id: "t1", name: "chat" } },
    { id: "e2", type: "span-create", timestamp: "2026-01-01T00:00:00.000Z", body: { id: "s1", traceId: "t1", name: "retrieve", metadata: { source: "cache" } } },
    { id: "e3", type: "generation-create", timestamp: "2026-01-01T00:00:00.000Z", body: { id: "g1", traceId: "t1", parentObservationId: "s1", name: "llm" } },
    { id: "e4", type: "span-update", timestamp: "2026-01-01T00:00:01.000Z", body: { id: "s1", traceId: "t1", endTime: "2026-01-01T00:00:01.000Z" } },
    { id: "e5", type: "event-create", timestamp: "2026-01-01T00:00:00.000Z", body: { id: "v1", traceId: "t2", name: "noise", level: "ERROR" } },
    { id: "e6", type: "score-create", timestamp: "2026-01-01T00:00:00.000Z", body: { id: "sc1", traceId: "t2", name: "quality", value: 1 } },
    { id: "e7", type: "trace-create", timestamp: "2026-01-01T00:00:00.000Z", body: { id: "t2", name: "batch" } },
  ];
  const run = async (config: unknown) => {
    const batch = new EventBatch(exportContext({ source: "langfuse" } as never), events().map((event, origin) => ({ event: event as never, origin })));
    await filter(config).process(batch);
    return { batch, ids: [...batch.records()].map(({ event }) => event.id), bodies: new Map([...batch.records()].map(({ event }) => [event.id, event.body as Record<string, unknown>])) };
  };

  it("drops an observation's create and update events together; trace records and scores stay unless a rule is trace-level", async () => {
    const { ids, batch } = await run({ drop: [{ span_name: "retrieve" }, { status: "error" }] });
    expect(ids).toEqual(["e1", "e3", "e6", "e7"]);
    expect(batch.drops.get("filtered")).toBe(3);
    expect((await run({ drop: [{ status: "error", level: "trace" }] })).ids).toEqual(["e1", "e2", "e3", "e4"]);
  });

  it("selects by observation type and metadata; every preset keeps native observations", async () => {
    expect((await run({ drop: [{ observation_type: "generation" }] })).ids).toEqual(["e1", "e2", "e4", "e5", "e6", "e7"]);
    expect((await run({ drop: [{ attributes: { source: "cache" } }] })).ids).toEqual(["e1", "e3", "e5", "e6", "e7"]);
    expect((await run({ keep: [{ preset: "langfuse_sdk_default" }] })).ids).toEqual(["e1", "e2", "e3", "e4", "e5", "e6", "e7"]);
  });

  it("reparents or drops the children of a dropped observation", async () => {
    const reparented = await run({ drop: [{ span_name: "retrieve" }], orphans: "reparent" });
    expect(reparented.bodies.get("e3")!.parentObservationId).toBeUndefined();
    expect((await run({ drop: [{ span_name: "retrieve" }], orphans: "drop" })).ids).toEqual(["e1", "e5", "e6", "e7"]);
    expect((await run({ drop: [{ span_name: "retrieve" }] })).bodies.get("e3")!.parentObservationId).toBe("s1");
  });
});

describe("filter's config", () => {
  const problems = (config: unknown) => {
    const parsed = filterProcessorFactory.configSchema.safeParse(config);
    return parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  };

  it("refuses what cannot work, saying where", () => {
    expect(problems({})).toEqual([": a filter needs a keep or a drop rule"]);
    expect(problems({ drop: [{ level: "trace" }] })[0]).toMatch(/^drop\.0: a rule needs at least one condition/);
    expect(problems({ drop: [{ span_name: { regex: "(" } }] })[0]).toMatch(/not a valid regular expression/);
    expect(problems({ drop: [{ observation_type: "llm" }] })[0]).toMatch(/^drop\.0\.observation_type/);
    expect(problems({ keep: [{ name: "a", preset: "langfuse_sdk_default" }], drop: [{ name: "a", status: "error" }] })).toEqual(["drop.0.name: the rule name a is used twice"]);
    expect(problems({ keep: [{ preset: "nope" }] })[0]).toMatch(/^keep\.0\.preset/);
    expect(problems({ drop: [{ span_name: "x" }], orphans: "reparent" })).toEqual([]);
  });
});
