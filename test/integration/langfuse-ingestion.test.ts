import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gzipSync } from "node:zlib";
import { basicAuth, TEST_KEYS } from "../support/daemon.js";
import { startStack, type TestDaemon, type TestRedis, type TestS3, type TestStack } from "../support/stack.js";

/** The native Langfuse ingestion API, over real HTTP, into s3rver and the local Redis. */
let stack: TestStack;
let s3: TestS3;
let redis: TestRedis;
let daemon: TestDaemon;
let base: string;

beforeAll(async () => {
  stack = await startStack();
  ({ s3, redis, daemon } = stack);
  base = daemon.url("langfuse");
});

afterAll(async () => {
  await stack?.stop();
});

async function post(body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}/api/public/ingestion`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: basicAuth(), ...headers },
    body: typeof body === "string" || body instanceof Uint8Array ? (body as string) : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

describe("POST /api/public/ingestion", () => {
  it("answers 207, stores each entity's normalised events and enqueues Langfuse's job", async () => {
    const traceId = `trace-${Date.now()}`;
    const batch = [
      { id: "ev-update", type: "span-update", timestamp: "2026-01-01T00:00:03.000Z", body: { id: `${traceId}-span`, traceId, output: "done" } },
      { id: "ev-trace", type: "trace-create", timestamp: "2026-01-01T00:00:01.000Z", body: { id: traceId, name: "t", environment: "Langfuse-Prod", extra: 1 } },
      { id: "ev-span", type: "span-create", timestamp: "2026-01-01T00:00:02.000Z", body: { id: `${traceId}-span`, traceId, name: "s" } },
      { id: "ev-bad", type: "span-create", timestamp: "2026-01-01T00:00:02.000Z", body: { traceId } },
      { id: "ev-log", type: "sdk-log", timestamp: "2026-01-01T00:00:02.000Z", body: { log: "hello" } },
      { id: "ev-score", type: "score-create", timestamp: "2026-01-01T00:00:00.000Z", body: { name: "q", value: 1, sessionId: "s" } },
    ];
    const response = await post({ batch, metadata: { sdk_name: "test" } }, { "x-langfuse-sdk-name": "python", "x-langfuse-sdk-version": "3.1.0" });

    expect(response.status).toBe(207);
    expect(response.body.successes).toEqual([
      { id: "ev-score", status: 201 },
      { id: "ev-trace", status: 201 },
      { id: "ev-span", status: 201 },
      { id: "ev-update", status: 201 },
    ]);
    expect(response.body.errors).toEqual([{ id: "ev-bad", status: 400, message: "Invalid request data", error: expect.stringContaining('"body"') }]);

    const prefix = `events/${TEST_KEYS.projectId}/`;
    const keys = (await s3.listKeys(prefix)).filter((key) => key.includes(traceId));
    expect(keys).toEqual([`${prefix}observation/${traceId}-span/ev-span.json`, `${prefix}trace/${traceId}/ev-trace.json`]);

    const traceObject = await s3.getObject(`${prefix}trace/${traceId}/ev-trace.json`);
    expect(traceObject.contentType).toBe("application/json");
    expect(traceObject.body).toBe(
      JSON.stringify([{ id: "ev-trace", timestamp: "2026-01-01T00:00:01.000Z", type: "trace-create", body: { id: traceId, name: "t", environment: "prod" } }]),
    );
    const spanEvents = await s3.getJson<Array<{ id: string; type: string }>>(`${prefix}observation/${traceId}-span/ev-span.json`);
    expect(spanEvents.map((event) => [event.id, event.type])).toEqual([
      ["ev-span", "span-create"],
      ["ev-update", "span-update"],
    ]);

    const jobs = (await redis.jobs()).filter((job) => String(job.data.payload.data.eventBodyId).startsWith(traceId));
    expect(jobs.map((job) => job.data.payload.data.type).sort()).toEqual(["span-create", "trace-create"]);
    const traceJob = jobs.find((job) => job.data.payload.data.type === "trace-create")!;
    expect(traceJob.name).toBe("ingestion-job");
    expect(traceJob.data).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      timestamp: expect.any(String),
      name: "ingestion-job",
      payload: {
        data: {
          type: "trace-create",
          eventBodyId: traceId,
          fileKey: "ev-trace",
          skipS3List: false,
          bucketPrefix: `${prefix}trace/${traceId}/`,
          ingestionApiKey: TEST_KEYS.publicKey,
          ingestionSdkName: "python",
          ingestionSdkVersion: "3.1.0",
        },
        authCheck: { validKey: true, scope: { projectId: TEST_KEYS.projectId, accessLevel: "project", orgId: "org-test", publicKey: TEST_KEYS.publicKey } },
      },
    });
    // Langfuse's queue defaults, and the API delay of 5 s (15 s around midnight UTC).
    expect(traceJob.opts).toMatchObject({ attempts: 6, backoff: { type: "exponential", delay: 5000 }, removeOnComplete: true, removeOnFail: 100000 });
    expect([5000, 15000]).toContain(traceJob.opts.delay);
    const spanJob = jobs.find((job) => job.data.payload.data.type === "span-create")!;
    expect(spanJob.data.payload.data).toMatchObject({ eventBodyId: `${traceId}-span`, fileKey: "ev-span", skipS3List: false });
  });

  it("answers per-event 401 for a Bearer (scores-only) key while scores land", async () => {
    const response = await post(
      {
        batch: [
          { id: "s1", type: "score-create", timestamp: "2026-01-01T00:00:00Z", body: { id: "score-bearer", name: "q", value: 1, traceId: "t-bearer" } },
          { id: "t1", type: "trace-create", timestamp: "2026-01-01T00:00:00Z", body: { id: "t-bearer" } },
        ],
      },
      { authorization: `Bearer ${TEST_KEYS.publicKey}` },
    );
    expect(response.status).toBe(207);
    expect(response.body).toEqual({
      successes: [{ id: "s1", status: 201 }],
      errors: [{ id: "t1", status: 401, message: "Authentication error", error: "Access Scope Denied" }],
    });
    expect(await s3.listKeys(`events/${TEST_KEYS.projectId}/score/score-bearer/`)).toEqual([`events/${TEST_KEYS.projectId}/score/score-bearer/s1.json`]);
    expect(await s3.listKeys(`events/${TEST_KEYS.projectId}/trace/t-bearer/`)).toEqual([]);
  });

  it("stores ids with spaces, plus signs, unicode and slashes under correctly signed, safe keys", async () => {
    const ids = ["trace with spaces+é(1)", "a/b"];
    const response = await post({ batch: ids.map((id, index) => ({ id: `odd-${index}`, type: "trace-create", timestamp: "2026-01-01T00:00:00Z", body: { id } })) });
    expect(response.status).toBe(207);
    expect(response.body.errors).toEqual([]);
    expect(await s3.listKeys(`events/${TEST_KEYS.projectId}/trace/trace with spaces+é(1)/`)).toEqual([`events/${TEST_KEYS.projectId}/trace/trace with spaces+é(1)/odd-0.json`]);
    expect(await s3.listKeys(`events/${TEST_KEYS.projectId}/trace/a_b_c14cddc033f64b9d/`)).toEqual([`events/${TEST_KEYS.projectId}/trace/a_b_c14cddc033f64b9d/odd-1.json`]);
  });

  it("writes under the project of the key that was used", async () => {
    const response = await post(
      { batch: [{ id: "o1", type: "trace-create", timestamp: "2026-01-01T00:00:00Z", body: { id: "t-other-project" } }] },
      { authorization: basicAuth("pk-lf-other", "sk-lf-other") },
    );
    expect(response.status).toBe(207);
    expect(await s3.listKeys("events/project-other/trace/t-other-project/")).toEqual(["events/project-other/trace/t-other-project/o1.json"]);
    expect(await s3.listKeys(`events/${TEST_KEYS.projectId}/trace/t-other-project/`)).toEqual([]);
  });

  it("refuses wrong credentials with 401 and stores nothing", async () => {
    const response = await post(
      { batch: [{ id: "x", type: "trace-create", timestamp: "2026-01-01T00:00:00Z", body: { id: "t-unauthorised" } }] },
      { authorization: basicAuth(TEST_KEYS.publicKey, "wrong") },
    );
    expect(response.status).toBe(401);
    expect(response.body).toMatchObject({ error: "UnauthorizedError", message: expect.stringContaining("Invalid credentials") });
    expect(await s3.listKeys(`events/${TEST_KEYS.projectId}/trace/t-unauthorised/`)).toEqual([]);
  });

  it("refuses bodies that are not {batch: [...]} with 400", async () => {
    expect((await post("{not json")).status).toBe(400);
    const wrongShape = await post({ events: [] });
    expect(wrongShape.status).toBe(400);
    expect(wrongShape.body).toEqual({ message: "Invalid request data", errors: ["body must be an object {batch: [...], metadata?: ...}"] });
  });

  it("answers 413 above 4.5 MiB, also when a gzip body inflates past it", async () => {
    const big = JSON.stringify({ batch: [{ id: "big", type: "trace-create", timestamp: "2026-01-01T00:00:00Z", body: { id: "t", input: "x".repeat(5 * 1024 * 1024) } }] });
    expect((await post(big)).status).toBe(413);
    const bomb = gzipSync(Buffer.from(big));
    expect(bomb.length).toBeLessThan(100_000);
    const response = await fetch(`${base}/api/public/ingestion`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": "gzip", authorization: basicAuth() },
      body: bomb,
    });
    expect(response.status).toBe(413);
  });

  it("accepts gzip-compressed batches", async () => {
    const body = gzipSync(JSON.stringify({ batch: [{ id: "gz", type: "trace-create", timestamp: "2026-01-01T00:00:00Z", body: { id: "t-gzip" } }] }));
    const response = await fetch(`${base}/api/public/ingestion`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": "gzip", authorization: basicAuth() },
      body,
    });
    expect(response.status).toBe(207);
    expect(await s3.listKeys(`events/${TEST_KEYS.projectId}/trace/t-gzip/`)).toHaveLength(1);
  });

  it("answers 405 to other methods and serves the health check", async () => {
    const wrongMethod = await fetch(`${base}/api/public/ingestion`, { method: "GET" });
    expect(wrongMethod.status).toBe(405);
    expect(await wrongMethod.json()).toEqual({ error: "MethodNotAllowedError", message: "Method not allowed" });
    const health = await fetch(`${base}/api/public/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "OK" });
  });
});
