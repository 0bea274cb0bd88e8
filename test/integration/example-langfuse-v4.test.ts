import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basicAuth, startDaemon, type TestDaemon } from "../support/daemon.js";
import { resourceSpans, span, toJson, toProtobuf } from "../support/otlp.js";
import { startS3, type TestS3 } from "../support/s3.js";
import { testRedis, type TestRedis } from "../support/redis.js";

/**
 * The shipped config/examples/langfuse-v4.yaml, run as written except for what a test must
 * change: free ports instead of 4317/4318/3000, a private Redis key prefix and spool folder.
 * OTLP from either receiver takes the raw path; native batches follow v4's events_only rules.
 */
const EXAMPLE = resolve(import.meta.dirname, "../../config/examples/langfuse-v4.yaml");
const KEYS = { LANGFUSE_PUBLIC_KEY: "pk-lf-v4", LANGFUSE_SECRET_KEY: "sk-lf-v4", LANGFUSE_PROJECT_ID: "project-v4" };
const auth = basicAuth(KEYS.LANGFUSE_PUBLIC_KEY, KEYS.LANGFUSE_SECRET_KEY);

let s3: TestS3;
let redis: TestRedis;
let daemon: TestDaemon;
let spool: string;

beforeAll(async () => {
  s3 = await startS3();
  redis = testRedis();
  spool = await mkdtemp(join(tmpdir(), "lor-example-v4-"));
  const yaml = readFileSync(EXAMPLE, "utf8")
    .replaceAll(/127\.0\.0\.1:(4317|4318|3000)/g, "127.0.0.1:0")
    .replace("url: ${env:REDIS_URL:-redis://127.0.0.1:6379}", `url: \${env:REDIS_URL:-redis://127.0.0.1:6379}\n      key_prefix: ${redis.keyPrefix}`)
    .replace("service:\n", `service:\n  telemetry: { health: { endpoint: 127.0.0.1:0 }, metrics: { endpoint: 127.0.0.1:0 } }\n  spool: { directory: ${spool}, fsync: false }\n`);
  daemon = await startDaemon(yaml, {
    env: { ...KEYS, S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY_ID: "S3RVER", S3_SECRET_ACCESS_KEY: "S3RVER", REDIS_URL: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379" },
  });
});

afterAll(async () => {
  await daemon?.stop();
  await redis?.cleanup();
  await s3?.stop();
  await rm(spool, { recursive: true, force: true });
});

const exported = () => Promise.all(daemon.service.pipelines.map((pipeline) => pipeline.spool?.idle()));

describe("config/examples/langfuse-v4.yaml", () => {
  it("sends OTLP from both receivers down the raw path and nothing through conversion", async () => {
    const viaOtlp = await fetch(`${daemon.url("otlp")}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf", authorization: auth },
      body: toProtobuf(resourceSpans([span({ traceId: "a".repeat(32) })])),
    });
    expect(viaOtlp.status).toBe(200);
    const viaLangfuse = await fetch(`${daemon.url("langfuse")}/api/public/otel/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: auth },
      body: toJson(resourceSpans([span({ traceId: "b".repeat(32) })])),
    });
    expect(viaLangfuse.status).toBe(200);
    await exported();
    const keys = await s3.listKeys("events/");
    expect(keys.filter((key) => key.startsWith("events/otel/project-v4/"))).toHaveLength(2);
    expect(keys.filter((key) => key.includes("/observation/") || key.includes("/trace/"))).toEqual([]);
    const jobs = await redis.jobs("otel-ingestion-queue");
    expect(jobs.map((job) => job.data.payload.data.fileKey).sort()).toEqual(keys.filter((key) => key.startsWith("events/otel/")).sort());
  });

  it("takes scores on the native API and refuses traces there, as Langfuse v4 does", async () => {
    const response = await fetch(`${daemon.url("langfuse")}/api/public/ingestion`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: auth },
      body: JSON.stringify({
        batch: [
          { id: "s-1", type: "score-create", timestamp: "2026-01-01T00:00:00.000Z", body: { id: "score-1", traceId: "t-1", name: "quality", value: 1 } },
          { id: "t-1", type: "trace-create", timestamp: "2026-01-01T00:00:00.000Z", body: { id: "trace-1" } },
        ],
      }),
    });
    expect(response.status).toBe(207);
    const answer = (await response.json()) as { successes: Array<{ id: string }>; errors: Array<{ id: string; status: number; message: string }> };
    expect(answer.successes.map((item) => item.id)).toEqual(["s-1"]);
    expect(answer.errors.map(({ id, status, message }) => [id, status, message])).toEqual([["t-1", 400, "Event type not accepted"]]);
    await exported();
    expect(await s3.listKeys("events/project-v4/score/")).toEqual(["events/project-v4/score/score-1/s-1.json"]);
    const jobs = await redis.jobs("ingestion-queue");
    expect(jobs.map((job) => [job.data.payload.data.type, job.data.payload.data.eventBodyId])).toEqual([["score-create", "score-1"]]);
  });
});
