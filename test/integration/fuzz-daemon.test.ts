/**
 * Fuzzing the running daemon over HTTP (fast-check, fixed seed): generated and corrupted OTLP
 * bodies (protobuf and JSON) and Langfuse ingestion batches. Every request gets a well-formed
 * answer with a status the protocol allows, the per-event results of a batch account for every
 * event, and the daemon still serves a good request afterwards. Run against the default order,
 * one where auth, sample and sort see the raw events before validate does, and one where OTLP takes
 * the raw path (otel pipeline: auth and sample see unchecked spans before validate).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExportTraceServiceResponse, RpcStatus } from "../../src/otlp/schema.js";
import { basicAuth } from "../support/daemon.js";
import { resourceSpans, span, toJson, toProtobuf } from "../support/otlp.js";
import { startStack, type TestStack } from "../support/stack.js";

const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const RUNS = Math.min(Number(process.env.FUZZ_RUNS ?? 60), 2000);

const stacks: Record<string, TestStack> = {};
const REORDERED = (yaml: string) =>
  yaml
    .replace("  sort: {}\n", "  sort: {}\n  sample:\n    rates: { project-test: 0.5 }\n")
    .replace("processors: [validate, auth, sort, group]", "processors: [auth, sample, sort, validate, group]");

const RAW = (yaml: string) => {
  const keyPrefix = /key_prefix: (\S+)/.exec(yaml)![1]!;
  return REORDERED(yaml)
    .replace("exporters:\n", `exporters:\n  langfuse_otel:\n    redis: { url: ${process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379"}, key_prefix: ${keyPrefix} }\n`)
    .replace("  pipelines:\n", "  pipelines:\n    otel:\n      receivers: [otlp, langfuse]\n      processors: [auth, sample, validate]\n      exporters: [s3, langfuse_otel]\n");
};

beforeAll(async () => {
  [stacks.default, stacks.reordered, stacks.raw] = await Promise.all([startStack(), startStack({ configure: REORDERED }), startStack({ configure: RAW })]);
});

afterAll(async () => {
  await Promise.all(Object.values(stacks).map((stack) => stack.stop()));
});

const validOtlp = resourceSpans([span({ traceId: "f".repeat(32) })]);
/** Over 64 KB, so the daemon reads it into a reused buffer (src/pipeline/buffer-pool.ts). */
const largeProtobuf = toProtobuf(resourceSpans([span({ traceId: "e".repeat(32), attributes: { "langfuse.observation.input": "x".repeat(80 * 1024) } })]));

const otlpBody = fc.oneof(
  fc.uint8Array({ maxLength: 256 }).map((b) => ({ type: "application/x-protobuf", body: Buffer.from(b) })),
  fc
    .tuple(fc.nat(), fc.integer({ min: 1, max: 255 }))
    .map(([at, bits]) => {
      const bytes = Buffer.from(toProtobuf(validOtlp));
      bytes[at % bytes.length] = bytes[at % bytes.length]! ^ bits;
      return { type: "application/x-protobuf", body: bytes };
    }),
  fc
    .tuple(fc.nat(), fc.integer({ min: 1, max: 255 }))
    .map(([at, bits]) => {
      const bytes = Buffer.from(largeProtobuf);
      bytes[at % bytes.length] = bytes[at % bytes.length]! ^ bits;
      return { type: "application/x-protobuf", body: bytes };
    }),
  fc.string().map((text) => ({ type: "application/json", body: Buffer.from(text) })),
  fc.jsonValue({ maxDepth: 4 }).map((value) => ({ type: "application/json", body: Buffer.from(JSON.stringify({ resourceSpans: value })) })),
);

const event = fc.oneof(
  fc.record(
    {
      id: fc.oneof(fc.string({ minLength: 1, maxLength: 8 }), fc.integer()),
      type: fc.constantFrom("trace-create", "span-create", "generation-create", "score-create", "event-create", "sdk-log", "bogus"),
      timestamp: fc.oneof(fc.constant("2026-01-01T00:00:00.000Z"), fc.string({ maxLength: 6 })),
      body: fc.oneof(
        fc.record({ id: fc.string({ minLength: 1, maxLength: 8 }), traceId: fc.string({ maxLength: 8 }), name: fc.string({ maxLength: 8 }), value: fc.double() }, { requiredKeys: [] }),
        fc.jsonValue({ maxDepth: 2 }),
      ),
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue({ maxDepth: 2 }),
);
const ingestionBody = fc.oneof(
  fc.array(event, { maxLength: 6 }).map((batch) => ({ batch })),
  fc.jsonValue({ maxDepth: 3 }),
);

describe.each(["default", "reordered", "raw"])("the daemon under fuzzed requests (%s order)", (order) => {
  const stack = { get daemon() { return stacks[order]!.daemon; } };

  it("answers every OTLP/HTTP body with an allowed status and a decodable body", async () => {
    await fc.assert(
      fc.asyncProperty(otlpBody, async ({ type, body }) => {
        const response = await fetch(`${stack.daemon.url("otlp")}/v1/traces`, { method: "POST", headers: { "content-type": type, authorization: basicAuth() }, body });
        expect([200, 400]).toContain(response.status);
        const bytes = Buffer.from(await response.arrayBuffer());
        if (type === "application/json") expect(() => JSON.parse(bytes.toString("utf8")) as unknown).not.toThrow();
        else if (response.status === 200) ExportTraceServiceResponse.decode(bytes);
        else expect(RpcStatus.decode(bytes).toJSON().code).toBe(3); // INVALID_ARGUMENT
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("answers every ingestion batch with per-event results that account for each event", async () => {
    await fc.assert(
      fc.asyncProperty(ingestionBody, async (payload) => {
        const response = await fetch(`${stack.daemon.url("langfuse")}/api/public/ingestion`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: basicAuth() },
          body: JSON.stringify(payload),
        });
        const answer = (await response.json()) as { successes?: unknown[]; errors?: unknown[] };
        const batch = (payload as { batch?: unknown } | null)?.batch;
        if (typeof payload === "object" && payload !== null && Array.isArray(batch)) {
          expect(response.status).toBe(207);
          // sdk-log events are neither successes nor errors, as in Langfuse
          const logs = batch.filter((e) => (e as { type?: unknown } | null)?.type === "sdk-log" && typeof (e as { body?: unknown }).body === "object").length;
          expect(answer.successes!.length + answer.errors!.length).toBeGreaterThanOrEqual(batch.length - logs);
          expect(answer.successes!.length + answer.errors!.length).toBeLessThanOrEqual(batch.length);
        } else {
          expect(response.status).toBe(400);
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("answers null, number and string events with per-event 400s and stores the valid one (found by fuzzing)", async () => {
    const response = await fetch(`${stack.daemon.url("langfuse")}/api/public/ingestion`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: basicAuth() },
      body: JSON.stringify({
        batch: [null, 5, "x", { id: `ok-${order}`, type: "score-create", timestamp: "2026-01-01T00:00:00.000Z", body: { id: `s-${order}`, name: "q", value: 1, traceId: "t" } }],
      }),
    });
    expect(response.status).toBe(207);
    const answer = (await response.json()) as { successes: Array<{ id: string; status: number }>; errors: Array<{ status: number }> };
    expect(answer.successes).toEqual([{ id: `ok-${order}`, status: 201 }]);
    expect(answer.errors.map((error) => error.status)).toEqual([400, 400, 400]);
  });

  it("still takes a good request afterwards", async () => {
    const response = await fetch(`${stack.daemon.url("otlp")}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: basicAuth() },
      body: toJson(validOtlp),
    });
    expect(response.status).toBe(200);
  });
});
