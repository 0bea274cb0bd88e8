/**
 * The envelope (contract §2.1, §2.3): id, timestamp, type, metadata; the result shape of
 * validateIngestionEvent; key order and stripping.
 */
import { describe, expect, it } from "vitest";
import { ISO_DATETIME_PATTERN } from "../../../src/processors/validate/primitives.js";
import { validateIngestionEvent } from "../../../src/processors/validate/schema.js";

const T = "2024-01-01T00:00:00.000Z";

function trace(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: "e1", timestamp: T, type: "trace-create", body: { id: "t1" }, ...overrides };
}

function issues(raw: unknown): Array<Record<string, unknown>> {
  const result = validateIngestionEvent(raw);
  if (result.ok) throw new Error(`expected failure, got ${JSON.stringify(result.event)}`);
  return JSON.parse(result.error) as Array<Record<string, unknown>>;
}

describe("envelope id (idSchema)", () => {
  it("accepts 1 and 800 UTF-16 code units", () => {
    expect(validateIngestionEvent(trace({ id: "a" })).ok).toBe(true);
    expect(validateIngestionEvent(trace({ id: "a".repeat(800) })).ok).toBe(true);
    expect(validateIngestionEvent(trace({ id: "😀".repeat(400) })).ok).toBe(true); // 800 units
  });

  it("rejects an empty id and more than 800 code units", () => {
    expect(issues(trace({ id: "" }))[0]).toMatchObject({ code: "too_small", path: ["id"] });
    expect(issues(trace({ id: "a".repeat(801) }))[0]).toMatchObject({ code: "too_big", maximum: 800, path: ["id"] });
    expect(issues(trace({ id: "😀".repeat(401) }))[0]).toMatchObject({ code: "too_big", path: ["id"] }); // 802 units
  });

  it("rejects a carriage return with its message, allows a line feed", () => {
    expect(issues(trace({ id: "a\rb" }))).toEqual([
      { code: "custom", path: ["id"], message: "ID cannot contain carriage return characters" },
    ]);
    expect(validateIngestionEvent(trace({ id: "a\nb" })).ok).toBe(true);
  });

  it("rejects a missing or non-string id", () => {
    expect(issues(trace({ id: undefined }))[0]).toMatchObject({ code: "invalid_type", path: ["id"] });
    expect(issues(trace({ id: 5 }))[0]).toMatchObject({ code: "invalid_type", expected: "string", path: ["id"] });
  });

  it("applies to body ids too", () => {
    expect(validateIngestionEvent(trace({ body: { id: "t".repeat(800) } })).ok).toBe(true);
    expect(issues(trace({ body: { id: "t".repeat(801) } }))[0]).toMatchObject({ code: "too_big", path: ["body", "id"] });
    expect(issues(trace({ body: { id: "t\r" } }))[0]).toMatchObject({
      path: ["body", "id"],
      message: "ID cannot contain carriage return characters",
    });
  });
});

describe("timestamp (z.iso.datetime({offset:true}) as in zod 4.3.6)", () => {
  const accepted = [
    "2024-01-01T00:00Z", // seconds optional
    "2024-01-01T00:00:00Z",
    "2024-01-01T00:00:00.000Z",
    "2024-01-01T00:00:00.1Z",
    "2024-01-01T00:00:00.123456789012Z", // unlimited fraction digits
    "2024-01-01T23:59:59+01:00",
    "2024-01-01T00:00-05:30",
    "2024-01-01T00:00:00+00:00",
    "2024-01-01T00:00:00-00:00",
    "2024-01-01T00:00:00+23:59",
    "2024-02-29T00:00:00Z", // leap year
    "2000-02-29T00:00:00Z",
    "2024-12-31T12:30:45.5Z",
  ];
  const rejected = [
    "2024-01-01T00:00:00+0100", // offset without colon
    "2024-01-01T00:00:00", // no offset
    "2024-01-01T00:00:00.000z", // lowercase z
    "2024-01-01t00:00:00Z",
    "2024-01-01 00:00:00Z",
    "2024-01-01T00Z",
    "2024-01-01T00:00:00.Z",
    "2024-01-01T00:00:00+01",
    "2024-01-01T00:00:00+24:00",
    "2024-01-01T24:00:00Z",
    "2024-01-01T00:60:00Z",
    "2024-01-01T00:00:60Z",
    "2023-02-29T00:00:00Z", // not a leap year
    "1900-02-29T00:00:00Z",
    "2024-04-31T00:00:00Z",
    "2024-13-01T00:00:00Z",
    "24-01-01T00:00:00Z",
    "+002024-01-01T00:00:00Z",
    " 2024-01-01T00:00:00Z",
    "2024-01-01T00:00:00Z ",
    "2024-01-01",
    "",
  ];

  it.each(accepted)("accepts %s", (timestamp) => {
    expect(ISO_DATETIME_PATTERN.test(timestamp)).toBe(true);
    expect(validateIngestionEvent(trace({ timestamp })).ok).toBe(true);
    expect(validateIngestionEvent(trace({ body: { id: "t1", timestamp } })).ok).toBe(true);
  });

  it.each(rejected)("rejects %j", (timestamp) => {
    expect(issues(trace({ timestamp }))[0]).toMatchObject({
      origin: "string",
      code: "invalid_format",
      format: "datetime",
      pattern: String(ISO_DATETIME_PATTERN),
      path: ["timestamp"],
      message: "Invalid ISO datetime",
    });
    expect(issues(trace({ body: { id: "t1", timestamp } }))[0]).toMatchObject({ path: ["body", "timestamp"] });
  });

  it("is required on the envelope, nullish in bodies", () => {
    expect(issues(trace({ timestamp: undefined }))[0]).toMatchObject({ path: ["timestamp"] });
    expect(issues(trace({ timestamp: null }))[0]).toMatchObject({ path: ["timestamp"] });
    expect(issues(trace({ timestamp: 1704067200000 }))[0]).toMatchObject({ path: ["timestamp"] });
    const ok = validateIngestionEvent(trace({ body: { id: "t1", timestamp: null } }));
    expect(ok.ok && JSON.stringify(ok.event.body)).toBe(`{"id":"t1","timestamp":null,"environment":"default"}`);
  });
});

describe("type", () => {
  it("rejects an unknown or missing type with a discriminator invalid_union", () => {
    for (const type of ["banana", "trace-update", "event-update", "agent-update", "dataset_run_item-create", "", 5]) {
      const list = issues(trace({ type }));
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({
        code: "invalid_union",
        errors: [],
        note: "No matching discriminator",
        discriminator: "type",
        path: ["type"],
      });
    }
    expect(issues(trace({ type: undefined }))[0]).toMatchObject({ code: "invalid_union", path: ["type"] });
  });
});

describe("metadata (jsonSchema.nullish)", () => {
  it("accepts any JSON value, null and absence", () => {
    for (const metadata of [{ a: { b: [1, null, "x"] } }, [1, 2], "s", 0, false, null]) {
      const r = validateIngestionEvent(trace({ metadata }));
      expect(r.ok && JSON.stringify(r.event)).toBe(
        `{"id":"e1","timestamp":"${T}","type":"trace-create","body":{"id":"t1","environment":"default"},"metadata":${JSON.stringify(metadata)}}`,
      );
    }
    const r = validateIngestionEvent(trace());
    expect(r.ok && "metadata" in r.event).toBe(false);
  });

  it("rejects values that are not JSON", () => {
    // The root union fails as a whole; its member errors say where.
    expect(issues(trace({ metadata: { a: undefined } }))[0]).toMatchObject({ code: "invalid_union", path: ["metadata"] });
    expect(JSON.stringify(issues(trace({ metadata: { n: Number.NaN } })))).toContain('"path":["n"]');
    expect(issues(trace({ metadata: new Date(0) }))[0]).toMatchObject({ code: "invalid_union", path: ["metadata"] });
  });
});

describe("result", () => {
  it("returns the zod error message (issues pretty-printed as JSON) and the raw id", () => {
    const r = validateIngestionEvent(trace({ id: "e7", timestamp: "nope" }));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.id).toBe("e7");
    const parsed = JSON.parse(r.error) as unknown[];
    expect(r.error).toBe(JSON.stringify(parsed, null, 2));
  });

  it("uses id 'unknown' for non-objects and non-string ids", () => {
    for (const raw of [5, null, undefined, "x", true, [trace()]]) {
      const r = validateIngestionEvent(raw);
      expect(r).toMatchObject({ ok: false, id: "unknown" });
    }
    expect(validateIngestionEvent(5)).toEqual({
      ok: false,
      id: "unknown",
      error: JSON.stringify(
        [{ code: "invalid_type", expected: "object", path: [], message: "Invalid input: expected object, received number" }],
        null,
        2,
      ),
    });
    expect(validateIngestionEvent(trace({ id: 12 }))).toMatchObject({ ok: false, id: "unknown" });
  });

  it("strips unknown envelope keys and orders keys id, timestamp, type, body, metadata", () => {
    const r = validateIngestionEvent({ metadata: { m: 1 }, body: { id: "t1" }, extra: true, type: "trace-create", timestamp: T, id: "e1" });
    expect(r.ok && JSON.stringify(r.event)).toBe(
      `{"id":"e1","timestamp":"${T}","type":"trace-create","body":{"id":"t1","environment":"default"},"metadata":{"m":1}}`,
    );
  });

  it("rejects a missing or non-object body", () => {
    expect(issues(trace({ body: undefined }))[0]).toMatchObject({ path: ["body"] });
    expect(issues(trace({ body: null }))[0]).toMatchObject({ path: ["body"] });
    expect(issues(trace({ body: "x" }))[0]).toMatchObject({ path: ["body"] });
  });

  it("does not keep references to the envelope object", () => {
    const raw = trace();
    const r = validateIngestionEvent(raw);
    expect(r.ok && r.event).not.toBe(raw);
  });
});

describe("robustness", () => {
  it("accepts deep JSON and rejects (does not throw on) absurdly deep JSON", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 1000; i++) deep = [deep];
    expect(validateIngestionEvent(trace({ metadata: deep })).ok).toBe(true);
    let absurd: unknown = 1;
    for (let i = 0; i < 200_000; i++) absurd = [absurd];
    const result = validateIngestionEvent(trace({ metadata: absurd }));
    expect(result).toMatchObject({ ok: false, id: "e1" });
  });
});
