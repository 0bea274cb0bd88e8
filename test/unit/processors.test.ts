import { describe, expect, it } from "vitest";
import { pino } from "pino";
import { EventBatch, type EventRecord } from "../../src/pipeline/batch.js";
import type { ProcessorFactory, ProcessorSettings } from "../../src/pipeline/component.js";
import type { RequestContext } from "../../src/pipeline/payload.js";
import { authProcessorFactory } from "../../src/processors/auth/factory.js";
import { parseAuthorization } from "../../src/processors/auth/credentials.js";
import { groupProcessorFactory } from "../../src/processors/group/factory.js";
import { sampleProcessorFactory } from "../../src/processors/sample/factory.js";
import { sortProcessorFactory } from "../../src/processors/sort/factory.js";
import { ForbiddenError, UnauthenticatedError } from "../../src/pipeline/errors.js";
import { createHash } from "node:crypto";
import { metrics } from "../../src/telemetry/metrics.js";

const settings = (type: string): ProcessorSettings => ({ id: { type, name: undefined, text: type }, logger: pino({ level: "silent" }), metrics, pipeline: "events" });

function processor(factory: ProcessorFactory, config: unknown = {}) {
  return factory.create(settings(factory.type), factory.configSchema.parse(config));
}

function context(overrides: Partial<RequestContext> = {}): RequestContext {
  return { receiver: "test", transport: "http", source: "api", authorization: undefined, sdkName: "unknown", sdkVersion: "unknown", ingestionVersion: "", ...overrides };
}

function record(origin: number, type: string, body: Record<string, unknown>, timestamp = "2024-01-01T00:00:00.000Z"): EventRecord {
  return { origin, event: { id: `e${origin}`, type, timestamp, body } };
}

const basic = (pk: string, sk: string) => `Basic ${Buffer.from(`${pk}:${sk}`).toString("base64")}`;

describe("auth", () => {
  const config = {
    keys: [
      { public_key: "pk-a", secret_key: "sk-a", project_id: "proj-a", org_id: "org-a" },
      { public_key: "pk-b", secret_key_sha256: createHash("sha256").update("sk-b").digest("hex"), project_id: "proj-b" },
    ],
  };

  it("resolves a key pair to its project scope", async () => {
    const batch = new EventBatch(context({ authorization: basic("pk-a", "sk-a") }), [record(0, "trace-create", { id: "t" })]);
    await processor(authProcessorFactory, config).process(batch);
    expect(batch.context.scope).toEqual({ projectId: "proj-a", orgId: "org-a", publicKey: "pk-a", accessLevel: "project" });
    expect(batch.eventCount).toBe(1);
  });

  it("checks credentials from the context alone before the body is read, and the chain reuses that check", async () => {
    const auth = processor(authProcessorFactory, config);
    const otlp = context({ source: "otel", authorization: basic("pk-a", "sk-a") });
    await auth.authenticate!(otlp);
    // A copy of the context (as each pipeline makes) finds the check; nothing is verified twice.
    const copy = { ...otlp, authorization: basic("pk-a", "changed after the check") };
    const batch = new EventBatch(copy, []);
    await auth.process(batch);
    expect(batch.context.scope).toMatchObject({ projectId: "proj-a", accessLevel: "project" });

    await expect(auth.authenticate!(context({ authorization: basic("pk-a", "wrong") }))).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(auth.authenticate!(context({ authorization: undefined }))).rejects.toBeInstanceOf(UnauthenticatedError);
    // A bare public key may send native batches (scores only), never OTLP spans.
    await auth.authenticate!(context({ authorization: "Bearer pk-a" }));
    await expect(auth.authenticate!(context({ source: "otel", authorization: "Bearer pk-a" }))).rejects.toBeInstanceOf(ForbiddenError);
  });

  it("accepts a secret given as its sha256", async () => {
    const batch = new EventBatch(context({ authorization: basic("pk-b", "sk-b") }), []);
    await processor(authProcessorFactory, config).process(batch);
    expect(batch.context.scope?.projectId).toBe("proj-b");
  });

  it("accepts Langfuse's fast hash when a salt is configured", async () => {
    const salted = {
      salt: "mysalt",
      keys: [{ public_key: "pk-lf-1", secret_key_sha256: "e7d3deaa623836d31724f16a460f3f1e14a4bc30932d44debcbb7d4853344601", project_id: "p" }],
    };
    const batch = new EventBatch(context({ authorization: basic("pk-lf-1", "sk-lf-00000000-0000-0000-0000-000000000000") }), []);
    await processor(authProcessorFactory, salted).process(batch);
    expect(batch.context.scope?.projectId).toBe("p");
  });

  it.each([
    ["no header", undefined, "No authorization header"],
    ["a wrong secret", basic("pk-a", "sk-b"), "Invalid credentials"],
    ["an unknown public key", basic("pk-x", "sk-a"), "Invalid credentials"],
    ["a secret of another key", basic("pk-b", "sk-a"), "Invalid credentials"],
    ["an unknown scheme", "Digest abc", "Invalid authorization header"],
    ["a basic value without colon", `Basic ${Buffer.from("pk-a").toString("base64")}`, "Invalid authorization header"],
    ["an unknown bearer key", "Bearer pk-x", "Invalid public key"],
  ])("refuses the whole request for %s", async (_name, authorization, message) => {
    const batch = new EventBatch(context({ authorization }), [record(0, "trace-create", { id: "t" })]);
    const run = () => processor(authProcessorFactory, config).process(batch);
    await expect(run()).rejects.toThrow(UnauthenticatedError);
    await expect(run()).rejects.toThrow(message);
  });

  it("gives a Bearer public key scores-only access: other events get a per-event 401", async () => {
    const batch = new EventBatch(context({ authorization: "Bearer pk-a" }), [
      record(0, "score-create", { id: "s", name: "q", value: 1, traceId: "t" }),
      record(1, "trace-create", { id: "t" }),
      record(2, "sdk-log", { log: "x" }),
    ]);
    await processor(authProcessorFactory, config).process(batch);
    expect(batch.context.scope?.accessLevel).toBe("scores");
    expect([...batch.records()].map((item) => item.origin)).toEqual([0, 2]);
    expect(batch.rejections).toEqual([{ origin: 1, id: "e1", status: 401, message: "Authentication error", error: "Access Scope Denied" }]);
  });

  it("refuses Bearer keys on OTLP input with a 403, as Langfuse's OTel endpoint does", async () => {
    const batch = new EventBatch(context({ authorization: "Bearer pk-a", source: "otel" }), []);
    await expect(processor(authProcessorFactory, config).process(batch)).rejects.toThrow(ForbiddenError);
  });

  it("parses percent-encoded headers from OTEL_EXPORTER_OTLP_HEADERS and case-insensitive schemes", () => {
    expect(parseAuthorization(`Basic%20${Buffer.from("pk:sk").toString("base64")}`)).toEqual({ ok: true, credentials: { scheme: "basic", publicKey: "pk", secretKey: "sk" } });
    expect(parseAuthorization(`basic ${Buffer.from("pk:s:k").toString("base64")}`)).toEqual({ ok: true, credentials: { scheme: "basic", publicKey: "pk", secretKey: "s:k" } });
    expect(parseAuthorization("BEARER pk")).toEqual({ ok: true, credentials: { scheme: "bearer", publicKey: "pk" } });
  });
});

describe("sample", () => {
  const scoped = () => context({ scope: { projectId: "p", accessLevel: "project", publicKey: "pk" } });

  it("drops groups whose trace falls outside the rate and counts them as sampled", () => {
    // sha256("abc123") → 0.424: kept at 0.5, dropped at 0.4.
    const records = [
      record(0, "trace-create", { id: "abc123" }),
      record(1, "span-create", { id: "s1", traceId: "abc123" }),
      record(2, "score-create", { id: "sc", sessionId: "sess" }),
    ];
    const kept = new EventBatch(scoped(), records.slice());
    processor(sampleProcessorFactory, { rates: { p: 0.5 } }).process(kept);
    expect(kept.eventCount).toBe(3);

    const dropped = new EventBatch(scoped(), records.slice());
    processor(sampleProcessorFactory, { rates: { p: "0.4" } }).process(dropped);
    expect([...dropped.records()].map((item) => item.origin)).toEqual([2]);
    expect(dropped.drops.get("sampled")).toBe(2);
    expect(dropped.rejections).toEqual([]);
  });

  it("keeps everything for projects without a rate", () => {
    const batch = new EventBatch(scoped(), [record(0, "trace-create", { id: "abc123" })]);
    processor(sampleProcessorFactory, { rates: { other: 0 } }).process(batch);
    expect(batch.eventCount).toBe(1);
  });

  it("refuses rates outside [0, 1]", () => {
    expect(sampleProcessorFactory.configSchema.safeParse({ rates: { p: 1.5 } }).success).toBe(false);
  });
});

describe("sort and group", () => {
  const events = () => [
    record(0, "span-update", { id: "s1", traceId: "t" }, "2024-01-01T00:00:01.000Z"),
    record(1, "span-create", { id: "s1", traceId: "t" }, "2024-01-01T00:00:02.000Z"),
    record(2, "trace-create", { id: "s1" }, "2024-01-01T00:00:03.000Z"),
    record(3, "span-create", { id: "s2", traceId: "t" }, "2024-01-01T00:00:00.000Z"),
    record(4, "trace-create", {}, "2024-01-01T00:00:00.000Z"),
  ];
  const shape = (batch: EventBatch) => batch.groups.map((group) => group.map((item) => item.origin));

  it("sort puts creates before updates by timestamp", async () => {
    const batch = new EventBatch(context(), events());
    await processor(sortProcessorFactory).process(batch);
    expect(shape(batch)).toEqual([[3], [4], [1], [2], [0]]);
  });

  it("group makes one group per entity and body id; id-less events stay alone", async () => {
    const batch = new EventBatch(context(), events());
    await processor(groupProcessorFactory).process(batch);
    expect(shape(batch)).toEqual([[0, 1], [2], [3], [4]]);
  });

  it("gives the same groups and order whether sort runs before or after group", async () => {
    const sortFirst = new EventBatch(context(), events());
    await processor(sortProcessorFactory).process(sortFirst);
    await processor(groupProcessorFactory).process(sortFirst);
    const groupFirst = new EventBatch(context(), events());
    await processor(groupProcessorFactory).process(groupFirst);
    await processor(sortProcessorFactory).process(groupFirst);
    expect(shape(sortFirst)).toEqual([[3], [4], [1, 0], [2]]);
    expect(shape(groupFirst)).toEqual(shape(sortFirst));
  });
});
