import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basicAuth, TEST_KEYS } from "../support/daemon.js";
import { startStack, type TestStack } from "../support/stack.js";

/** A pipeline's `batch` merges the same entity across requests into one object and one job. */
let stack: TestStack;

beforeAll(async () => {
  stack = await startStack({
    configure: (yaml) =>
      yaml.replace("      exporters: [s3, bullmq]\n", "      exporters: [s3, bullmq]\n      batch: { flush_at: 1000, flush_interval: 300ms }\n"),
  });
});

afterAll(async () => {
  await stack?.stop();
});

async function post(batch: unknown[]) {
  const response = await fetch(`${stack.daemon.url("langfuse")}/api/public/ingestion`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: basicAuth() },
    body: JSON.stringify({ batch }),
  });
  expect(response.status).toBe(207);
}

describe("pipeline batching", () => {
  it("turns a trace's create and update, sent in separate requests, into one object and one job each", async () => {
    await post([
      { id: "r1-trace", type: "trace-create", timestamp: "2026-01-01T00:00:01.000Z", body: { id: "bt", name: "first" } },
      { id: "r1-span", type: "span-create", timestamp: "2026-01-01T00:00:01.000Z", body: { id: "bs", traceId: "bt" } },
    ]);
    await post([{ id: "r2-update", type: "span-update", timestamp: "2026-01-01T00:00:02.000Z", body: { id: "bs", traceId: "bt", output: "done" } }]);
    await post([{ id: "r3-trace", type: "trace-create", timestamp: "2026-01-01T00:00:03.000Z", body: { id: "bt", userId: "u" } }]);

    const prefix = `events/${TEST_KEYS.projectId}/`;
    expect(await stack.s3.listKeys(`${prefix}trace/bt/`)).toEqual([`${prefix}trace/bt/r1-trace.json`]);
    expect((await stack.s3.getJson<Array<{ id: string }>>(`${prefix}trace/bt/r1-trace.json`)).map((event) => event.id)).toEqual(["r1-trace", "r3-trace"]);
    expect(await stack.s3.listKeys(`${prefix}observation/bs/`)).toEqual([`${prefix}observation/bs/r1-span.json`]);
    expect((await stack.s3.getJson<Array<{ id: string }>>(`${prefix}observation/bs/r1-span.json`)).map((event) => event.id)).toEqual(["r1-span", "r2-update"]);

    const jobs = await stack.redis.jobs();
    expect(jobs.map((job) => [job.data.payload.data.type, job.data.payload.data.fileKey])).toEqual([
      ["trace-create", "r1-trace"],
      ["span-create", "r1-span"],
    ]);
  });
});
