import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basicAuth } from "../support/daemon.js";
import { resourceSpans, span, toJson } from "../support/otlp.js";
import { startStack, type TestStack } from "../support/stack.js";

/** A project over its limit gets 429 with Retry-After; other projects go on unaffected. */
let stack: TestStack;

beforeAll(async () => {
  stack = await startStack({
    configure: (yaml) =>
      yaml
        .replace("  sort: {}\n", "  sort: {}\n  rate_limit:\n    projects:\n      project-other: { events_per_second: 0.01, burst: 1 }\n")
        .replace("processors: [validate, auth, sort, group]", "processors: [validate, auth, rate_limit, sort, group]"),
  });
});

afterAll(async () => {
  await stack?.stop();
});

function post(traceId: string, authorization: string): Promise<Response> {
  return fetch(`${stack.daemon.url("otlp")}/v1/traces`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization },
    body: toJson(resourceSpans([span({ traceId })])),
  });
}

describe("rate_limit", () => {
  it("refuses a project over its limit with 429 and Retry-After, and leaves the others alone", async () => {
    const other = basicAuth("pk-lf-other", "sk-lf-other");
    expect((await post("1".repeat(32), other)).status).toBe(200); // a full bucket admits one request
    const refused = await post("2".repeat(32), other);
    expect(refused.status).toBe(429);
    // the first request cost 2 events (trace + span) from a bucket of 1 at 0.01/s: 200 s to refill
    expect(Number(refused.headers.get("retry-after"))).toBe(200);
    expect(((await refused.json()) as { message: string }).message).toBe("project project-other is over its rate limit; retry in 200 s");
    expect((await post("3".repeat(32), basicAuth())).status).toBe(200);
  });
});
