import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { context, trace } from "@opentelemetry/api";
import { OTLPTraceExporter as ProtoExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { z } from "zod";
import { basicAuth, TEST_KEYS } from "../support/daemon.js";
import { exportOverGrpc } from "../support/grpc.js";
import { gzipSync, resourceSpans, span, toJson, toProtobuf } from "../support/otlp.js";
import { startStack, type TestStack } from "../support/stack.js";

/**
 * The raw OTel path (Langfuse v3.108+ and v4): OTLP spans are stored as sent, one object per
 * request under `otel/<project>/YYYY/MM/DD/hh/mm/<uuid>.json`, and one `otel-ingestion-job`
 * points Langfuse's worker at it. Native ingestion batches still take the events pipeline.
 */
let stack: TestStack;

/** The fields of Langfuse's `OtelIngestionEvent` job payload (contract §5.2), nothing else. */
const otelIngestionEvent = z.strictObject({
  data: z.strictObject({ fileKey: z.string(), publicKey: z.string().optional() }),
  authCheck: z.strictObject({
    validKey: z.literal(true),
    scope: z.strictObject({ projectId: z.string(), accessLevel: z.literal("project"), orgId: z.string().optional() }),
  }),
  propagatedHeaders: z.record(z.string(), z.string()).optional(),
  sdkName: z.string().optional(),
  sdkVersion: z.string().optional(),
  ingestionVersion: z.string().optional(),
  isLangfuseInternal: z.boolean().optional(),
});

const OTEL_PREFIX = `events/otel/${TEST_KEYS.projectId}/`;
const KEY_PATTERN = new RegExp(`^events/otel/${TEST_KEYS.projectId}/\\d{4}/\\d{2}/\\d{2}/\\d{2}/\\d{2}/[0-9a-f-]{36}\\.json$`);

/** The otel pipeline with sampling for project-other; `spool: false` exports before answering. */
function otelStack(spool: boolean): Promise<TestStack> {
  return startStack({
    spool,
    configure: (yaml) => {
      const keyPrefix = /key_prefix: (\S+)/.exec(yaml)![1]!;
      return yaml
        .replace("  langfuse:\n    endpoint: 127.0.0.1:0\n", "  langfuse:\n    endpoint: 127.0.0.1:0\n    propagate_headers: [X-Tenant, x-absent]\n")
        .replace("  group: {}\n", "  group: {}\n  sample:\n    rates: { project-other: 0.5 }\n")
        // Some records stay in memory until exported, the rest are read back from disk: both
        // ways give the stored JSON's reused buffers back at a different point.
        .replace("    fsync: false\n", "    fsync: false\n    memory_window: 600KiB\n")
        .replace("exporters:\n", `exporters:\n  langfuse_otel:\n    redis: { url: ${process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379"}, key_prefix: ${keyPrefix} }\n    retry_after: 1s\n`)
        .replace(
          "  pipelines:\n",
          // Processors in an unusual order on purpose: auth and sample before validate must work too.
          "  pipelines:\n    otel:\n      receivers: [otlp, langfuse]\n      processors: [auth, sample, validate]\n      exporters: [s3, langfuse_otel]\n",
        );
    },
  });
}

beforeAll(async () => {
  stack = await otelStack(true);
});

afterAll(async () => {
  await stack?.stop();
});

const randomHex = (bytes: number) => randomBytes(bytes).toString("hex");

function traceIdWhere(accept: (traceId: string) => boolean): string {
  for (;;) {
    const traceId = randomHex(16);
    if (accept(traceId)) return traceId;
  }
}

/** The stored exports whose spans belong to `traceId`, with their keys and text. */
async function exportsOfTrace(traceId: string, prefix = OTEL_PREFIX): Promise<Array<{ key: string; body: unknown[]; text: string }>> {
  const found = [];
  for (const key of await stack.s3.listKeys(prefix)) {
    const { body, contentType } = await stack.s3.getObject(key);
    expect(contentType).toBe("application/json");
    if (body.includes(traceId)) found.push({ key, body: JSON.parse(body) as unknown[], text: body });
  }
  return found;
}

async function otelJobFor(key: string) {
  const jobs = await stack.redis.jobs("otel-ingestion-queue");
  return jobs.filter((job) => job.data.payload.data.fileKey === key);
}

function spansOf(body: unknown[]): Array<Record<string, unknown>> {
  return (body as Array<{ scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }>).flatMap((resource) => resource.scopeSpans.flatMap((scope) => scope.spans));
}

/**
 * Bodies over 64 KB arrive in several socket reads and are read into reused buffers; the JSON
 * stored for protobuf is written into reused buffers too, and a JSON body is stored in the buffer
 * it was read into. Two rounds of concurrent requests, protobuf and JSON, make the second reuse the
 * first's: a buffer handed out again while its request was still in the pipeline or the spool
 * would store zeros or another request's spans. Every third request goes to the sampled project,
 * whose stored text is written twice (protobuf: all spans, then the kept ones; JSON: from objects).
 */
async function concurrentLargeExportsAreStoredExactly(stack: TestStack): Promise<void> {
  const inSample = (traceId: string) => Number.parseInt(createHash("sha256").update(traceId).digest("hex").slice(0, 8), 16) / 0xffffffff < 0.5;
  const sent: Array<{ traceIds: string[]; data: ReturnType<typeof resourceSpans>; sampled: boolean }> = [];
  for (let round = 0; round < 2; round += 1) {
    const requests = Array.from({ length: 9 }, (_, index) => {
      const sampled = index % 3 === 2;
      // A sampled request keeps one trace and drops another, whatever the third does.
      const traceIds = sampled ? [traceIdWhere(inSample), traceIdWhere((id) => !inSample(id)), randomHex(16)] : [randomHex(16), randomHex(16), randomHex(16)];
      const text = randomHex(6 * 1024);
      const spans = Array.from({ length: 12 }, (_, n) =>
        span({ traceId: traceIds[n % 3]!, spanId: randomHex(8), name: `op-${round}-${index}-${n}`, attributes: { "langfuse.observation.input": text } }),
      );
      return { traceIds, data: resourceSpans(spans), gzip: index % 4 === 0, sampled, json: index % 2 === 1 };
    });
    const statuses = await Promise.all(
      requests.map(async ({ data, gzip, sampled, json }) => {
        const body = json ? Buffer.from(toJson(data)) : toProtobuf(data);
        expect(body.length).toBeGreaterThan(128 * 1024);
        const response = await fetch(`${stack.daemon.url("otlp")}/v1/traces`, {
          method: "POST",
          headers: {
            "content-type": json ? "application/json" : "application/x-protobuf",
            authorization: sampled ? basicAuth("pk-lf-other", "sk-lf-other") : basicAuth(),
            ...(gzip ? { "content-encoding": "gzip" } : {}),
          },
          body: gzip ? gzipSync(body) : body,
        });
        await response.arrayBuffer();
        return response.status;
      }),
    );
    expect(statuses).toEqual(requests.map(() => 200));
    sent.push(...requests);
  }
  const storedByTrace = new Map<string, unknown[][]>();
  for (const prefix of [OTEL_PREFIX, "events/otel/project-other/"]) {
    for (const key of await stack.s3.listKeys(prefix)) {
      const body = JSON.parse((await stack.s3.getObject(key)).body) as unknown[];
      const traceIds = new Set(spansOf(body).map((item) => item.traceId as string));
      for (const traceId of traceIds) storedByTrace.set(traceId, [...(storedByTrace.get(traceId) ?? []), body]);
    }
  }
  for (const { traceIds, data, sampled } of sent) {
    const kept = sampled ? traceIds.filter(inSample) : traceIds;
    const expected = structuredClone(data);
    for (const scope of expected[0]!.scopeSpans) scope.spans = scope.spans.filter((item) => kept.includes(item.traceId as string));
    for (const traceId of traceIds) expect(storedByTrace.get(traceId)).toEqual(kept.includes(traceId) ? [expected] : undefined);
  }
}

describe("the raw OTel path (otel pipeline + langfuse_otel)", () => {
  it("stores what the OpenTelemetry SDK's protobuf exporter sends and enqueues Langfuse's otel-ingestion-job", async () => {
    const exporter = new ProtoExporter({ url: `${stack.daemon.url("otlp")}/v1/traces`, headers: { authorization: basicAuth() } });
    const provider = new NodeTracerProvider({ resource: resourceFromAttributes({ "service.name": "raw-svc" }), spanProcessors: [new BatchSpanProcessor(exporter)] });
    const tracer = provider.getTracer("raw-lib", "2.0");
    const ids = tracer.startActiveSpan("root", (root) => {
      const llm = tracer.startSpan("chat", {}, trace.setSpan(context.active(), root));
      llm.setAttributes({ "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 12, "langfuse.observation.input": '{"q":"hi"}' });
      llm.end();
      root.end();
      return { traceId: root.spanContext().traceId, rootId: root.spanContext().spanId, llmId: llm.spanContext().spanId };
    });
    await provider.forceFlush();
    await provider.shutdown();

    const stored = await exportsOfTrace(ids.traceId);
    expect(stored).toHaveLength(1);
    const { key, body } = stored[0]!;
    expect(key).toMatch(KEY_PATTERN);
    // The OTLP/JSON shape with hex ids, which Langfuse's worker reads as it reads JSON exports.
    expect(body).toMatchObject([
      {
        resource: { attributes: expect.arrayContaining([{ key: "service.name", value: { stringValue: "raw-svc" } }]) },
        scopeSpans: [{ scope: { name: "raw-lib", version: "2.0" } }],
      },
    ]);
    const spans = spansOf(body);
    expect(spans.map((item) => [item.name, item.traceId, item.spanId, item.parentSpanId])).toEqual([
      ["chat", ids.traceId, ids.llmId, ids.rootId],
      ["root", ids.traceId, ids.rootId, undefined],
    ]);
    expect(spans[0]!.attributes).toEqual(
      expect.arrayContaining([
        { key: "gen_ai.request.model", value: { stringValue: "gpt-4o" } },
        { key: "gen_ai.usage.input_tokens", value: { intValue: "12" } },
      ]),
    );
    expect(typeof spans[0]!.startTimeUnixNano).toBe("string");

    const jobs = await otelJobFor(key);
    expect(jobs).toHaveLength(1);
    const [job] = jobs;
    expect(job!.name).toBe("otel-ingestion-job");
    expect(job!.data).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      timestamp: expect.any(String),
      name: "otel-ingestion-job",
      payload: {
        data: { fileKey: key, publicKey: TEST_KEYS.publicKey },
        authCheck: { validKey: true, scope: { projectId: TEST_KEYS.projectId, accessLevel: "project", orgId: "org-test" } },
        sdkName: "unknown",
        sdkVersion: "unknown",
        ingestionVersion: "",
      },
    });
    expect(otelIngestionEvent.safeParse(job!.data.payload).success).toBe(true);
    expect(job!.opts).toMatchObject({ attempts: 6, backoff: { type: "exponential", delay: 5000 }, removeOnComplete: true, removeOnFail: 100_000 });
    expect(job!.opts.delay ?? 0).toBe(0);

    // Nothing was converted here: no event objects and no ingestion-job for this trace.
    expect(await stack.s3.listKeys(`events/${TEST_KEYS.projectId}/observation/${ids.llmId}/`)).toEqual([]);
    const ingestionJobs = await stack.redis.jobs("ingestion-queue");
    expect(ingestionJobs.filter((item) => [ids.rootId, ids.llmId, ids.traceId].includes(item.data.payload.data.eventBodyId))).toEqual([]);
  });

  it("stores OTLP/JSON from Langfuse's endpoint as sent and passes the SDK, ingestion-version and propagated headers to the job", async () => {
    const traceId = randomHex(16);
    const data = resourceSpans([span({ traceId, spanId: randomHex(8), attributes: { "langfuse.observation.type": "generation", weird: ["x", "y"] } })]);
    // Fields the daemon does not know must survive: the worker gets what the SDK sent.
    (data[0] as Record<string, unknown>).schemaUrl = "https://opentelemetry.io/schemas/1.26.0";
    // An escape that a re-serialisation would not reproduce: the stored bytes are the request's own.
    const requestText = toJson(data).toString().replace('"svc"', '"sv\\u0063"');
    const response = await fetch(`${stack.daemon.url("langfuse")}/api/public/otel/v1/traces`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: basicAuth(),
        "x-langfuse-sdk-name": "python",
        "x-langfuse-sdk-version": "4.0.1",
        "x-langfuse-ingestion-version": "4",
        "x-tenant": "acme",
      },
      body: requestText,
    });
    expect(response.status).toBe(200);
    const stored = await exportsOfTrace(traceId);
    expect(stored.map((item) => item.body)).toEqual([data]);
    expect(stored[0]!.text).toBe(requestText.slice('{"resourceSpans":'.length, -1));
    const [job] = await otelJobFor(stored[0]!.key);
    // Configured headers the request carried ride along for Langfuse's masking callback; absent ones are left out.
    expect(job!.data.payload).toMatchObject({ sdkName: "python", sdkVersion: "4.0.1", ingestionVersion: "4", propagatedHeaders: { "x-tenant": "acme" } });
    expect(otelIngestionEvent.safeParse(job!.data.payload).success).toBe(true);
  });

  it("stores OTLP/gRPC in the same shape as the same spans sent as JSON", async () => {
    const traceId = randomHex(16);
    const data = resourceSpans([
      span({ traceId, spanId: randomHex(8), name: "grpc-root", attributes: { "user.id": "u-1", n: 3, ok: true, ratio: 0.5 } }),
    ]);
    const result = await exportOverGrpc(stack.daemon.url("otlp", "grpc"), toProtobuf(data), { authorization: basicAuth() });
    expect(result.code).toBe(0);
    const stored = await exportsOfTrace(traceId);
    expect(stored.map((item) => item.body)).toEqual([data]);
  });

  it("stores each of many concurrent large protobuf and JSON exports exactly as sent, though their bodies and stored text share reused buffers", async () => {
    await concurrentLargeExportsAreStoredExactly(stack);
  });

  it("refuses a whole export when a span has no usable ids, as Langfuse does, and stores nothing of it", async () => {
    const traceId = randomHex(16);
    const good = span({ traceId, spanId: randomHex(8) });
    const bad = { ...span({ traceId }), spanId: undefined };
    const response = await fetch(`${stack.daemon.url("otlp")}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: basicAuth() },
      body: toJson(resourceSpans([good, bad])),
    });
    expect(response.status).toBe(400);
    const answer = (await response.json()) as { message: string };
    expect(answer.message).toContain("Invalid OTLP trace export: 1 of 2 span(s) cannot be processed (spanId:absent x1)");
    expect(answer.message).toContain("Instrumentation scopes: my-lib");
    expect(await exportsOfTrace(traceId)).toEqual([]);
  });

  it("refuses spans sent with a bare public key (Bearer), which may only write scores", async () => {
    const response = await fetch(`${stack.daemon.url("langfuse")}/api/public/otel/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TEST_KEYS.publicKey}` },
      body: toJson(resourceSpans([span({ traceId: randomHex(16), spanId: randomHex(8) })])),
    });
    expect(response.status).toBe(403);
  });

  it("samples whole traces by Langfuse's sha256 rule before storing", async () => {
    // Langfuse's rule, written out independently: keep when sha256(traceId)[0:8] / 0xffffffff < rate.
    const inSample = (traceId: string) => Number.parseInt(createHash("sha256").update(traceId).digest("hex").slice(0, 8), 16) / 0xffffffff < 0.5;
    const traceIds = Array.from({ length: 24 }, () => randomHex(16));
    const spans = traceIds.flatMap((traceId) => [span({ traceId, spanId: randomHex(8) }), span({ traceId, spanId: randomHex(8) })]);
    const marker = randomHex(16);
    const data = resourceSpans(spans, { name: marker, version: "1" });
    const response = await fetch(`${stack.daemon.url("otlp")}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: basicAuth("pk-lf-other", "sk-lf-other") },
      body: toJson(data),
    });
    expect(response.status).toBe(200);
    const kept = traceIds.filter(inSample);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(traceIds.length);
    const stored = await exportsOfTrace(marker, "events/otel/project-other/");
    expect(stored).toHaveLength(1);
    const storedTraceIds = spansOf(stored[0]!.body).map((item) => item.traceId as string);
    expect(storedTraceIds).toEqual(kept.flatMap((traceId) => [traceId, traceId]));
  });

  it("keeps native ingestion batches on the events pipeline", async () => {
    const traceId = `native-${randomHex(4)}`;
    const response = await fetch(`${stack.daemon.url("langfuse")}/api/public/ingestion`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: basicAuth() },
      body: JSON.stringify({ batch: [{ id: `e-${traceId}`, type: "trace-create", timestamp: "2026-01-01T00:00:00Z", body: { id: traceId } }] }),
    });
    expect(response.status).toBe(207);
    expect(await stack.s3.listKeys(`events/${TEST_KEYS.projectId}/trace/${traceId}/`)).toEqual([`events/${TEST_KEYS.projectId}/trace/${traceId}/e-${traceId}.json`]);
    expect(await exportsOfTrace(traceId)).toEqual([]);
  });
});

describe("the raw OTel path without a spool", () => {
  let direct: TestStack;
  beforeAll(async () => {
    direct = await otelStack(false);
  });
  afterAll(async () => {
    await direct?.stop();
  });

  it("stores each of many concurrent large protobuf and JSON exports exactly as sent (reused buffers go back after the export itself)", async () => {
    await concurrentLargeExportsAreStoredExactly(direct);
  });
});
