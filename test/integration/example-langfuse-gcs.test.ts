import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basicAuth, startDaemon, type TestDaemon } from "../support/daemon.js";
import { resourceSpans, span, toJson } from "../support/otlp.js";
import { testRedis, type TestRedis } from "../support/redis.js";
import { expectedAuthorization, type ReceivedRequest } from "../support/sigv4-reference.js";

/**
 * The shipped config/examples/langfuse-gcs.yaml: the s3 exporter in GCS's interoperability mode.
 * No GCS server (nor emulator of its XML API) installs on this machine, so the example runs, as
 * written except for the endpoint and the test's ports, against a stand-in that enforces what GCS's
 * XML API documents and what S3 clients are known to break on there: SigV4 with the HMAC key and
 * region `auto` (checked with the AWS SDK's signer), path-style `/bucket/key`, a signed payload
 * hash that matches the body, a known Content-Length, and no `x-amz-checksum-*` headers
 * (ExcessHeaderValues) or aws-chunked bodies.
 */
const EXAMPLE = resolve(import.meta.dirname, "../../config/examples/langfuse-gcs.yaml");
const KEYS = { LANGFUSE_PUBLIC_KEY: "pk-lf-gcs", LANGFUSE_SECRET_KEY: "sk-lf-gcs", LANGFUSE_PROJECT_ID: "project-gcs" };
const HMAC = { accessKeyId: "GOOG1EXAMPLEHMACACCESSID0000000000000000000000000000000000", secretAccessKey: "bGAOEXAMPLEhmacSECRETkey0000000000000000" };
const auth = basicAuth(KEYS.LANGFUSE_PUBLIC_KEY, KEYS.LANGFUSE_SECRET_KEY);

/** What GCS's XML API would refuse in a PutObject, or undefined. */
async function refusal(request: ReceivedRequest): Promise<string | undefined> {
  const { headers } = request;
  if (!/^\/langfuse\/\S+$/.test(request.path)) return `not a path-style object PUT: ${request.path}`;
  if (Object.keys(headers).some((name) => name.startsWith("x-amz-checksum-") || name === "x-amz-sdk-checksum-algorithm")) return "ExcessHeaderValues: x-amz-checksum headers";
  if ((headers["content-encoding"] ?? "").includes("aws-chunked") || headers["transfer-encoding"] !== undefined) return "aws-chunked and chunked bodies are not supported";
  if (headers["content-length"] !== String(request.body.length)) return "MissingContentLength";
  if (!headers.authorization?.startsWith(`AWS4-HMAC-SHA256 Credential=${HMAC.accessKeyId}/`) || !headers.authorization.includes("/auto/s3/aws4_request")) return "not SigV4 with the HMAC key and region auto";
  if (headers["x-amz-content-sha256"] !== createHash("sha256").update(request.body).digest("hex")) return "XAmzContentSHA256Mismatch";
  if (headers.authorization !== (await expectedAuthorization(request, HMAC, "auto"))) return "SignatureDoesNotMatch";
  return undefined;
}

let server: Server;
const stored = new Map<string, { body: Buffer; contentType: string | undefined }>();
const refusals: string[] = [];
let redis: TestRedis;
let daemon: TestDaemon;
let spool: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", async () => {
      const received: ReceivedRequest = { method: request.method!, path: request.url!, headers: request.headers as Record<string, string>, body: Buffer.concat(chunks) };
      const refused = request.method === "PUT" ? await refusal(received) : `unexpected ${request.method}`;
      if (refused !== undefined) {
        refusals.push(refused);
        response.writeHead(400, { "content-type": "application/xml" }).end(`<?xml version='1.0' encoding='UTF-8'?><Error><Code>InvalidArgument</Code><Message>${refused}</Message></Error>`);
        return;
      }
      stored.set(decodeURIComponent(received.path.slice("/langfuse/".length)), { body: received.body, contentType: received.headers["content-type"] });
      response.writeHead(200, { etag: `"${createHash("md5").update(received.body).digest("hex")}"`, "x-goog-generation": "1" }).end();
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  redis = testRedis();
  spool = await mkdtemp(join(tmpdir(), "lor-example-gcs-"));
  const yaml = readFileSync(EXAMPLE, "utf8")
    .replace("endpoint: https://storage.googleapis.com", `endpoint: http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    .replaceAll(/127\.0\.0\.1:(4317|4318|3000)/g, "127.0.0.1:0")
    .replace("url: ${env:REDIS_URL:-redis://127.0.0.1:6379}", `url: \${env:REDIS_URL:-redis://127.0.0.1:6379}\n      key_prefix: ${redis.keyPrefix}`)
    .replace("service:\n", `service:\n  telemetry: { health: { endpoint: 127.0.0.1:0 }, metrics: { endpoint: 127.0.0.1:0 } }\n  spool: { directory: ${spool}, fsync: false }\n`);
  daemon = await startDaemon(yaml, { env: { ...KEYS, GCS_HMAC_ACCESS_ID: HMAC.accessKeyId, GCS_HMAC_SECRET: HMAC.secretAccessKey, REDIS_URL: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379" } });
});

afterAll(async () => {
  await daemon?.stop();
  await redis?.cleanup();
  server?.closeAllConnections();
  await new Promise((done) => server?.close(done));
  await rm(spool, { recursive: true, force: true });
});

describe("config/examples/langfuse-gcs.yaml", () => {
  it("writes through GCS's XML API as GCS accepts it: OTLP exports and native scores, each with its job", async () => {
    const viaOtlp = await fetch(`${daemon.url("otlp")}/v1/traces`, { method: "POST", headers: { "content-type": "application/json", authorization: auth }, body: toJson(resourceSpans([span({ traceId: "d".repeat(32), attributes: { "input.value": "ünïcode" } })])) });
    expect(viaOtlp.status).toBe(200);
    const score = await fetch(`${daemon.url("langfuse")}/api/public/ingestion`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: auth },
      body: JSON.stringify({ batch: [{ id: "s-1", type: "score-create", timestamp: "2026-01-01T00:00:00.000Z", body: { id: "score 1+x", traceId: "t-1", name: "quality", value: 1 } }] }),
    });
    expect(score.status).toBe(207);
    await Promise.all(daemon.service.pipelines.map((pipeline) => pipeline.spool?.idle()));

    expect(refusals).toEqual([]);
    const keys = [...stored.keys()].sort();
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^events\/otel\/project-gcs\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/\d{2}\/[0-9a-f-]{36}\.json$/);
    expect(keys[1]).toBe("events/project-gcs/score/score 1+x/s-1.json");
    for (const key of keys) expect(stored.get(key)!.contentType).toBe("application/json");
    expect((await redis.jobs("otel-ingestion-queue")).map((job) => job.data.payload.data.fileKey)).toEqual([keys[0]]);
    const [job] = await redis.jobs("ingestion-queue");
    expect(`${job!.data.payload.data.bucketPrefix}${job!.data.payload.data.fileKey}.json`).toBe(keys[1]);
  });
});
