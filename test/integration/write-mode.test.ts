import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basicAuth, TEST_KEYS } from "../support/daemon.js";
import { startStack, type TestStack } from "../support/stack.js";

/** For a Langfuse v4 target in events_only mode, /api/public/ingestion takes only scores and logs. */
let stack: TestStack;

beforeAll(async () => {
  stack = await startStack({ configure: (yaml) => yaml.replace("  langfuse:\n    endpoint: 127.0.0.1:0\n", "  langfuse:\n    endpoint: 127.0.0.1:0\n    write_mode: events_only\n") });
});

afterAll(async () => {
  await stack?.stop();
});

describe("write_mode: events_only", () => {
  it("answers trace and observation events with Langfuse v4's per-event 400, and stores the scores", async () => {
    const response = await fetch(`${stack.daemon.url("langfuse")}/api/public/ingestion`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: basicAuth() },
      body: JSON.stringify({
        batch: [
          { id: "w-trace", type: "trace-create", timestamp: "2026-01-01T00:00:00Z", body: { id: "w-t" } },
          { id: "w-score", type: "score-create", timestamp: "2026-01-01T00:00:01Z", body: { id: "w-s", name: "q", value: 1, traceId: "w-t" } },
          { id: "w-bad-score", type: "score-create", timestamp: "2026-01-01T00:00:01Z", body: { id: "w-s2", value: 1, traceId: "w-t" } },
          { id: "w-log", type: "sdk-log", timestamp: "2026-01-01T00:00:02Z", body: { log: "hi" } },
          { id: "w-span", type: "span-create", timestamp: "2026-01-01T00:00:02Z", body: { id: "w-sp", traceId: "w-t" } },
        ],
      }),
    });
    expect(response.status).toBe(207);
    const body = (await response.json()) as { successes: unknown[]; errors: Array<{ id: string; status: number; message: string; error: string }> };
    expect(body.successes).toEqual([{ id: "w-score", status: 201 }]);
    expect(body.errors.map((error) => [error.id, error.status, error.message])).toEqual([
      ["w-bad-score", 400, "Invalid request data"],
      ["w-trace", 400, "Event type not accepted"],
      ["w-span", 400, "Event type not accepted"],
    ]);
    expect(body.errors[1]!.error).toMatch(/^Event type "trace-create" is not accepted by \/api\/public\/ingestion when LANGFUSE_MIGRATION_V4_WRITE_MODE is events_only/);
    expect(await stack.s3.listKeys(`events/${TEST_KEYS.projectId}/score/w-s/`)).toHaveLength(1);
    expect(await stack.s3.listKeys(`events/${TEST_KEYS.projectId}/trace/`)).toEqual([]);
  });
});
