/**
 * Untrusted input: the converter never throws, rejects only the spans it cannot convert (with a
 * reason) and converts the rest of the same request.
 */
import { describe, expect, it } from "vitest";
import { convertResourceSpans } from "../../../src/conversion/convert.js";
import { C, R, T, child, convert, kvs, request, resourceSpans, span, view } from "./fixtures.js";

const GOOD = span({ spanId: "aaaaaaaaaaaaaaaa" });

function observationIds(result: ReturnType<typeof convert>): unknown[] {
  return result.events.filter((e) => e.event.type !== "trace-create").map((e) => e.event.body.id);
}

describe("never throws", () => {
  const weird: unknown[] = [
    undefined,
    null,
    0,
    42,
    "resourceSpans",
    true,
    {},
    { resourceSpans: [] },
    [],
    [null],
    [1, "x", true],
    [{}],
    [{ resource: null, scopeSpans: null }],
    [{ resource: 5, scopeSpans: [] }],
    [{ scopeSpans: {} }],
    [{ scopeSpans: [null, 1, { spans: null }, { scope: "x", spans: [] }] }],
    [{ scopeSpans: [{ spans: [null, 1, "s", [], {}] }] }],
    [{ scopeSpans: [{ spans: [{ traceId: T, spanId: R, attributes: [null, 1, { key: 5 }, { key: "k" }, { key: "v", value: null }] }] }] }],
    [{ scopeSpans: [{ spans: [{ traceId: T, spanId: R, status: "bad", name: 5, startTimeUnixNano: {}, endTimeUnixNano: [] }] }] }],
    [{ scopeSpans: [{ spans: [{ traceId: T, spanId: R, events: [null, 5, { name: "gen_ai.choice", attributes: null }] }] }] }],
    JSON.parse('[{"__proto__":{"x":1},"scopeSpans":[{"__proto__":null,"scope":{"__proto__":{"name":"ai"}},"spans":[{"__proto__":{},"traceId":"t","spanId":"s"}]}]}]'),
  ];

  it.each(weird.map((value, i) => [i, value]))("input #%i", (_i, value) => {
    let result: ReturnType<typeof convertResourceSpans> | undefined;
    expect(() => {
      result = convertResourceSpans(value);
    }).not.toThrow();
    expect(result).toBeDefined();
    expect(result?.spanCount).toBe((result?.rejectedSpans.length ?? 0) + new Set(result?.events.map((e) => e.spanIndex)).size);
  });

  it("null or missing resourceSpans is an empty request", () => {
    expect(convert(null)).toEqual({ events: [], rejectedSpans: [], spanCount: 0 });
    expect(convert(undefined)).toEqual({ events: [], rejectedSpans: [], spanCount: 0 });
    expect(convert([])).toEqual({ events: [], rejectedSpans: [], spanCount: 0 });
  });

  it("a non-array resourceSpans counts as one rejected span", () => {
    expect(convert({ spans: [] })).toEqual({
      events: [],
      rejectedSpans: [{ spanIndex: 0, reason: "resourceSpans: not an array" }],
      spanCount: 1,
    });
  });
});

describe("span-level rejections", () => {
  it.each<[string, Record<string, unknown>, string]>([
    ["absent traceId", { traceId: undefined }, "traceId: absent"],
    ["null traceId", { traceId: null }, "traceId: absent"],
    ["numeric traceId", { traceId: 12 }, "traceId: not_an_id"],
    ["boolean spanId", { spanId: true }, "spanId: not_an_id"],
    ["object spanId", { spanId: { a: 1 } }, "spanId: not_an_id"],
    ["empty spanId", { spanId: "" }, "spanId: empty"],
    ["array with a non-number", { spanId: [1, "x"] }, "spanId: not_an_id"],
    ["bad parentSpanId", { parentSpanId: 7 }, "parentSpanId: not_an_id"],
    ["attributes not an array", { attributes: { k: "v" } }, "attributes: not an array"],
    ["events not an array", { events: {} }, "events: not an array"],
    ["event attributes not an array", { events: [{ name: "x", attributes: "a" }] }, "events.attributes: not an array"],
  ])("%s", (_label, override, reason) => {
    const bad = { ...span({ spanId: "bbbbbbbbbbbbbbbb" }), ...override };
    const result = convert(request({ spans: [GOOD, bad, child()] }));
    expect(result.spanCount).toBe(3);
    expect(result.rejectedSpans).toEqual([{ spanIndex: 1, reason }]);
    expect(observationIds(result)).toEqual(["aaaaaaaaaaaaaaaa", C]);
    expect(result.events.map((e) => e.spanIndex)).toEqual([0, 0, 2]);
  });

  it("reports every problem of a span", () => {
    const result = convert(request({ spans: [{ spanId: 5, attributes: 1 }] }));
    expect(result.rejectedSpans).toEqual([
      { spanIndex: 0, reason: "traceId: absent; spanId: not_an_id; attributes: not an array" },
    ]);
  });

  it("a non-object span is rejected", () => {
    const result = convert(request({ spans: [null, GOOD, "x"] as Array<Record<string, unknown>> }));
    expect(result.rejectedSpans).toEqual([
      { spanIndex: 0, reason: "span: not an object" },
      { spanIndex: 2, reason: "span: not an object" },
    ]);
    expect(result.spanCount).toBe(3);
    expect(observationIds(result)).toEqual(["aaaaaaaaaaaaaaaa"]);
  });

  it("a rejected span leaves no seen-trace state behind", () => {
    // The first (bad) child would have produced the shallow trace; the good child still gets one.
    const bad = { ...child(), attributes: "x" };
    const events = view(convert(request({ spans: [bad, child({ spanId: "cccccccccccccccc" })] })));
    expect(events.map((e) => [e.type, e.shallowTrace, e.spanIndex])).toEqual([
      ["trace-create", true, 1],
      ["span-create", false, 1],
    ]);
  });

  it("too deeply nested attribute values reject only their span", () => {
    let value: unknown = { stringValue: "leaf" };
    for (let i = 0; i < 10_000; i++) value = { arrayValue: { values: [value] } };
    const deep = { ...span({ spanId: "dddddddddddddddd" }), attributes: [{ key: "deep", value }] };
    const result = convert(request({ spans: [deep, GOOD] }));
    expect(result.rejectedSpans).toHaveLength(1);
    expect(result.rejectedSpans[0]?.spanIndex).toBe(0);
    expect(result.rejectedSpans[0]?.reason).toBe("span: nested deeper than 128 levels");
    expect(observationIds(result)).toEqual(["aaaaaaaaaaaaaaaa"]);
  });

  it("deeply nested JSON text, scope keys and flattened keys never make an unserialisable event", () => {
    const deepJson = '{"a":'.repeat(50_000) + "1" + "}".repeat(50_000);
    const deepKey = `gen_ai.prompt.${Array.from({ length: 5_000 }, () => "x").join(".")}`;
    let deepScopeValue: unknown = 1;
    for (let i = 0; i < 50_000; i++) deepScopeValue = { x: deepScopeValue };
    const hostile = span({
      spanId: "eeeeeeeeeeeeeeee",
      attributes: {
        "langfuse.observation.metadata": deepJson,
        "langfuse.observation.usage_details": deepJson,
        "langfuse.observation.model.parameters": deepJson,
        [deepKey]: "v",
        "gen_ai.input.messages": `[${deepJson}]`,
        "gen_ai.system_instructions": "s",
      },
    });
    const result = convert([
      resourceSpans({ spans: [hostile] }),
      resourceSpans({ spans: [GOOD], scope: { name: "s", deep: deepScopeValue } }),
    ]);
    expect(result.rejectedSpans).toEqual([{ spanIndex: 1, reason: "scope: nested deeper than 128 levels" }]);
    expect(() => JSON.stringify(result.events)).not.toThrow();
    const body = result.events[1]?.event.body as Record<string, unknown>;
    expect(body.usageDetails).toEqual({});
    expect(body.input).toBe(`[${deepJson}]`);
  });

  it("a kvlist is kept as JSON text; one that nests the span past the bound refuses the span", () => {
    const kvlist = (levels: number) => {
      let value: unknown = { stringValue: "leaf" };
      for (let i = 0; i < levels; i++) value = { kvlistValue: { values: [{ key: "k", value }] } };
      return value;
    };
    // span › attributes › KeyValue › AnyValue, then four levels per kvlist level: 4 + 4 × 31 = 128.
    const within = kvlist(31);
    const kept = convert(request({ spans: [{ ...GOOD, attributes: [{ key: "deep", value: within }] }] }));
    expect(kept.rejectedSpans).toEqual([]);
    const attrs = (kept.events[1]?.event.body.metadata as { attributes: Record<string, unknown> }).attributes;
    expect(attrs.deep).toBe(JSON.stringify(within));
    const refused = convert(request({ spans: [{ ...GOOD, attributes: [{ key: "deep", value: kvlist(32) }] }] }));
    expect(refused.rejectedSpans).toEqual([{ spanIndex: 0, reason: "span: nested deeper than 128 levels" }]);
  });
});

describe("collection-level rejections", () => {
  it("resource.attributes not an array rejects every span of that resource only", () => {
    const badResource = { resource: { attributes: { "service.name": "x" } }, scopeSpans: [{ spans: [child(), child()] }] };
    const result = convert([badResource, resourceSpans({ spans: [GOOD] })]);
    expect(result.spanCount).toBe(3);
    expect(result.rejectedSpans).toEqual([
      { spanIndex: 0, reason: "resource.attributes: not an array" },
      { spanIndex: 1, reason: "resource.attributes: not an array" },
    ]);
    expect(observationIds(result)).toEqual(["aaaaaaaaaaaaaaaa"]);
    expect(result.events.map((e) => e.spanIndex)).toEqual([2, 2]);
  });

  it("scope.attributes not an array rejects the spans of that scope only", () => {
    const rs = {
      resource: { attributes: kvs({ "service.name": "svc" }) },
      scopeSpans: [
        { scope: { name: "s", attributes: "bad" }, spans: [child()] },
        { scope: { name: "my-lib", version: "1.0" }, spans: [GOOD] },
      ],
    };
    const result = convert([rs]);
    expect(result.rejectedSpans).toEqual([{ spanIndex: 0, reason: "scope.attributes: not an array" }]);
    expect(observationIds(result)).toEqual(["aaaaaaaaaaaaaaaa"]);
  });

  it("scopeSpans / spans not arrays count as one rejected span each", () => {
    const result = convert([
      { scopeSpans: "nope" },
      { scopeSpans: [{ spans: { 0: GOOD } }, { spans: [GOOD] }] },
    ]);
    expect(result.spanCount).toBe(3);
    expect(result.rejectedSpans).toEqual([
      { spanIndex: 0, reason: "scopeSpans: not an array" },
      { spanIndex: 1, reason: "spans: not an array" },
    ]);
    expect(observationIds(result)).toEqual(["aaaaaaaaaaaaaaaa"]);
  });

  it("non-object entries in resourceSpans / scopeSpans count as rejected spans", () => {
    const result = convert([null, { scopeSpans: [7, { spans: [GOOD] }] }]);
    expect(result.rejectedSpans).toEqual([
      { spanIndex: 0, reason: "resourceSpans: entry is not an object" },
      { spanIndex: 1, reason: "scopeSpans: entry is not an object" },
    ]);
    expect(result.spanCount).toBe(3);
  });

  it("null collections are treated as absent", () => {
    const result = convert([{ resource: { attributes: null }, scopeSpans: [{ scope: { attributes: null }, spans: [GOOD] }] }]);
    expect(result.rejectedSpans).toEqual([]);
    expect(result.spanCount).toBe(1);
  });
});

describe("hostile keys", () => {
  it("__proto__ attribute keys become own properties and pollute nothing", () => {
    const result = convert(
      request({
        spans: [
          {
            ...GOOD,
            attributes: [
              { key: "__proto__", value: { stringValue: "p" } },
              { key: "langfuse.observation.metadata", value: { stringValue: '{"__proto__":{"polluted":true},"ok":1}' } },
              { key: "langfuse.observation.metadata.__proto__", value: { stringValue: "flat" } },
              { key: "gen_ai.prompt.0.__proto__.x", value: { stringValue: "y" } },
              { key: "gen_ai.prompt.0.constructor", value: { stringValue: "y" } },
              { key: "gen_ai.prompt.0.content", value: { stringValue: "hi" } },
            ],
          },
        ],
      }),
    );
    expect(result.rejectedSpans).toEqual([]);
    const body = result.events[1]?.event.body as Record<string, unknown>;
    const metadata = body.metadata as Record<string, unknown>;
    expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype);
    expect(Object.hasOwn(metadata, "__proto__")).toBe(true);
    expect(Object.getOwnPropertyDescriptor(metadata, "__proto__")?.value).toBe("flat");
    expect(metadata.ok).toBe(1);
    const attributes = metadata.attributes as Record<string, unknown>;
    expect(Object.getPrototypeOf(attributes)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(attributes, "__proto__")?.value).toBe("p");
    expect(body.input).toStrictEqual([{ content: "hi" }]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.parse(JSON.stringify(metadata)).__proto__).toBe("flat");
  });

  it("attribute keys named like Object.prototype members are plain keys", () => {
    const result = convert(
      request({
        spans: [
          span({
            attributes: {
              "langfuse.observation.type": "constructor",
              "gen_ai.operation.name": "toString",
              "langfuse.observation.level": "hasOwnProperty",
            },
          }),
        ],
      }),
    );
    expect(result.events[1]?.event.type).toBe("span-create");
    expect(result.events[1]?.event.body.level).toBe("DEFAULT");
  });
});
