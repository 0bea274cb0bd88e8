import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { status as grpcStatus } from "@grpc/grpc-js";
import { basicAuth } from "../support/daemon.js";
import { exportOverGrpc } from "../support/grpc.js";
import { resourceSpans, span, toJson, toProtobuf } from "../support/otlp.js";
import { startStack, type TestStack } from "../support/stack.js";

/** Over a limit: 429 with Retry-After (gRPC: RESOURCE_EXHAUSTED); what is under its limit goes on. */
const withRateLimit = (settings: string) => (yaml: string) =>
  yaml
    .replace("  sort: {}\n", `  sort: {}\n  rate_limit:\n${settings}`)
    .replace("processors: [validate, auth, sort, group]", "processors: [validate, auth, rate_limit, sort, group]");

let byProject: TestStack;
let byAddress: TestStack;

beforeAll(async () => {
  [byProject, byAddress] = await Promise.all([
    startStack({ configure: withRateLimit("    projects:\n      project-other: { events_per_second: 0.01, burst: 1 }\n") }),
    startStack({ configure: withRateLimit("    per_client_address: { events_per_second: 0.01, burst: 1 }\n") }),
  ]);
});

afterAll(async () => {
  await Promise.all([byProject?.stop(), byAddress?.stop()]);
});

function post(stack: TestStack, traceId: string, authorization: string): Promise<Response> {
  return fetch(`${stack.daemon.url("otlp")}/v1/traces`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization },
    body: toJson(resourceSpans([span({ traceId })])),
  });
}

function exportGrpc(stack: TestStack, traceId: string) {
  return exportOverGrpc(stack.daemon.url("otlp", "grpc"), toProtobuf(resourceSpans([span({ traceId })])), { authorization: basicAuth() });
}

describe("rate_limit", () => {
  it("refuses a project over its limit with 429 and Retry-After, and leaves the others alone", async () => {
    const other = basicAuth("pk-lf-other", "sk-lf-other");
    expect((await post(byProject, "1".repeat(32), other)).status).toBe(200); // a full bucket admits one request
    const refused = await post(byProject, "2".repeat(32), other);
    expect(refused.status).toBe(429);
    // the first request cost 2 events (trace + span) from a bucket of 1 at 0.01/s: 200 s to refill
    expect(Number(refused.headers.get("retry-after"))).toBe(200);
    expect(((await refused.json()) as { message: string }).message).toBe("project project-other is over its rate limit; retry in 200 s");
    expect((await post(byProject, "3".repeat(32), basicAuth())).status).toBe(200);
  });

  it("limits a client address across projects and transports (gRPC peer address included)", async () => {
    expect((await exportGrpc(byAddress, "4".repeat(32))).code).toBe(grpcStatus.OK);
    const refused = await exportGrpc(byAddress, "5".repeat(32));
    expect([refused.code, refused.details]).toEqual([grpcStatus.RESOURCE_EXHAUSTED, "client 127.0.0.1 is over its rate limit; retry in 200 s"]);
    // the same address over HTTP with another project's key shares the bucket
    expect((await post(byAddress, "6".repeat(32), basicAuth("pk-lf-other", "sk-lf-other"))).status).toBe(429);
  });
});
