import { afterEach, describe, expect, it } from "vitest";
import { basicAuth } from "../support/daemon.js";
import { resourceSpans, span, toJson } from "../support/otlp.js";
import { freePort } from "../support/redis-server.js";
import { startStack, type TestStack } from "../support/stack.js";
import { classifyS3Error } from "../../src/exporters/s3/errors.js";
import { PermanentError, RetryableError } from "../../src/pipeline/errors.js";

/**
 * S3 refusing or missing, without a spool: the client is told whether to retry, and no job points
 * at a missing blob. (With the spool, the same failures are retried in the background; see
 * test/faults.)
 */
let stack: TestStack | undefined;

afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

async function post(traceId: string) {
  return fetch(`${stack!.daemon.url("otlp")}/v1/traces`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: basicAuth() },
    body: toJson(resourceSpans([span({ traceId })])),
  });
}

describe("S3 failures", () => {
  it("answers 503 with Retry-After when S3 is unreachable, and enqueues nothing", async () => {
    const closedPort = await freePort();
    stack = await startStack({ spool: false, configure: (yaml) => yaml.replace(/endpoint: http:\/\/127\.0\.0\.1:\d+/, `endpoint: http://127.0.0.1:${closedPort}`) });
    const response = await post("00000000000000000000000000000d01");
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    expect(await response.json()).toMatchObject({ code: 14, message: expect.stringContaining("export failed") });
    expect(await stack.redis.jobs()).toEqual([]);
  });

  it("answers 500 (do not retry) when the bucket does not exist, and enqueues nothing", async () => {
    stack = await startStack({ spool: false, configure: (yaml) => yaml.replace("bucket: langfuse", "bucket: no-such-bucket") });
    const response = await post("00000000000000000000000000000d02");
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ code: 13, message: expect.stringContaining("NoSuchBucket") });
    expect(await stack.redis.jobs()).toEqual([]);
    // The daemon is still up.
    expect((await fetch(`${stack.daemon.url("langfuse")}/api/public/health`)).status).toBe(200);
  });
});

describe("S3 error classification", () => {
  const sdkError = (name: string, status?: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

  it.each([
    ["a network error", Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })],
    ["SlowDown", sdkError("SlowDown", 503)],
    ["a 500", sdkError("InternalError", 500)],
    ["a 429", sdkError("TooManyRequests", 429)],
    ["RequestTimeout", sdkError("RequestTimeout", 400)],
  ])("treats %s as retryable", (_name, error) => {
    expect(classifyS3Error(error, 5000)).toBeInstanceOf(RetryableError);
  });

  it.each([
    ["AccessDenied", sdkError("AccessDenied", 403)],
    ["NoSuchBucket", sdkError("NoSuchBucket", 404)],
    ["InvalidAccessKeyId", sdkError("InvalidAccessKeyId", 403)],
  ])("treats %s as permanent", (_name, error) => {
    expect(classifyS3Error(error, 5000)).toBeInstanceOf(PermanentError);
  });
});
