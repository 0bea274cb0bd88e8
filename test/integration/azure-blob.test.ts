import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { ContainerSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential } from "@azure/storage-blob";
import { azureBlobConfigSchema, azureBlobExporterFactory } from "../../src/exporters/azure/factory.js";
import { parseComponentId } from "../../src/pipeline/component.js";
import { PermanentError, RetryableError } from "../../src/pipeline/errors.js";
import { ExportGroup, type ExportRequest } from "../../src/pipeline/export.js";
import { AZURITE_ACCOUNT, AZURITE_KEY, azureBlobYaml, startAzurite, type TestAzurite } from "../support/azurite.js";
import { basicAuth, startDaemon, TEST_KEYS, type TestDaemon } from "../support/daemon.js";
import { resourceSpans, span, toJson, toProtobuf } from "../support/otlp.js";
import { freePort, waitFor } from "../support/redis-server.js";
import { testRedis, type TestRedis } from "../support/redis.js";
import { startS3, type TestS3 } from "../support/s3.js";
import { metrics } from "../../src/telemetry/metrics.js";

/**
 * The azure_blob exporter against a real Azure Storage server (Azurite), next to the s3 exporter in
 * the same pipelines: both paths (converted events, raw OTel exports) must leave the same keys with
 * the same bytes in Azurite as in s3rver, and every job must point at a blob that Langfuse's worker
 * finds the way it reads in Azure mode (list by the job's prefix, download).
 */
let azurite: TestAzurite;
let s3: TestS3;
let redis: TestRedis;
let daemon: TestDaemon;
let spool: string;

function yaml(): string {
  return `
receivers:
  otlp: { http: { endpoint: 127.0.0.1:0 } }
  otlp/raw: { http: { endpoint: 127.0.0.1:0 } }
  langfuse: { endpoint: 127.0.0.1:0 }
processors:
  validate: {}
  auth: { keys: [{ public_key: ${TEST_KEYS.publicKey}, secret_key: ${TEST_KEYS.secretKey}, project_id: ${TEST_KEYS.projectId}, org_id: org-test }] }
  sort: {}
  group: {}
exporters:
  s3: { bucket: langfuse, prefix: events/, endpoint: ${s3.endpoint}, force_path_style: true, access_key_id: S3RVER, secret_access_key: S3RVER, max_attempts: 1 }
${azureBlobYaml(azurite.endpoint)}  bullmq: { redis: { url: redis://127.0.0.1:6379, key_prefix: ${redis.keyPrefix} } }
  langfuse_otel: { redis: { url: redis://127.0.0.1:6379, key_prefix: ${redis.keyPrefix} } }
service:
  telemetry: { health: { endpoint: 127.0.0.1:0 }, metrics: { endpoint: 127.0.0.1:0 } }
  spool: { directory: ${spool}, fsync: false, retry: { initial_interval: 50ms, max_interval: 500ms } }
  pipelines:
    events:
      receivers: [otlp, langfuse]
      processors: [validate, auth, sort, group]
      exporters: [s3, azure_blob, bullmq]
    otel:
      receivers: [otlp/raw]
      processors: [auth, validate]
      exporters: [s3, azure_blob, langfuse_otel]
`;
}

beforeAll(async () => {
  [azurite, s3] = await Promise.all([startAzurite(), startS3()]);
  redis = testRedis();
  spool = await mkdtemp(join(tmpdir(), "lor-azure-spool-"));
  daemon = await startDaemon(yaml());
});

afterAll(async () => {
  await daemon?.stop();
  await redis?.cleanup();
  await Promise.all([azurite?.destroy(), s3?.stop()]);
  await rm(spool, { recursive: true, force: true });
});

const exported = () => Promise.all(daemon.service.pipelines.map((pipeline) => pipeline.spool?.idle()));

/** Every key under `prefix` holds the same bytes in Azurite as in s3rver; stored as application/json. */
async function expectSameObjects(prefix: string): Promise<string[]> {
  const keys = await azurite.listKeys(prefix);
  expect(keys).toEqual(await s3.listKeys(prefix));
  for (const key of keys) {
    const [fromAzure, fromS3] = await Promise.all([azurite.getObject(key), s3.getObject(key)]);
    expect(Buffer.from(fromAzure.body).equals(Buffer.from(fromS3.body)), key).toBe(true);
    expect(fromAzure.contentType).toBe("application/json");
  }
  return keys;
}

describe("azure_blob on Azurite", () => {
  it("events path: the same keys and bytes as s3, and every job's blob found as Langfuse's worker reads it", async () => {
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const spans = [span({ traceId, spanId: "b7ad6b7169203331", name: "root" }), span({ traceId, spanId: "00f067aa0ba902b7", parentSpanId: "b7ad6b7169203331", attributes: { "gen_ai.request.model": "gpt-4o", "input.value": "héllo ✓" } })];
    const otlp = await fetch(`${daemon.url("otlp")}/v1/traces`, { method: "POST", headers: { "content-type": "application/x-protobuf", authorization: basicAuth() }, body: toProtobuf(resourceSpans(spans)) });
    expect(otlp.status).toBe(200);
    // Native ids that need Langfuse's safe-key rule or percent-encoding: '/', spaces, '+', '%', non-ASCII.
    const batch = [
      { id: randomUUID(), type: "trace-create", timestamp: new Date().toISOString(), body: { id: "trace/with slash", name: "t" } },
      { id: `évent ${randomUUID()}`, type: "span-create", timestamp: new Date().toISOString(), body: { id: "span a+b%c ü", traceId: "trace/with slash", name: "s" } },
      { id: randomUUID(), type: "score-create", timestamp: new Date().toISOString(), body: { id: "score-1", traceId: "trace/with slash", name: "q", value: 1 } },
    ];
    const native = await fetch(`${daemon.url("langfuse")}/api/public/ingestion`, { method: "POST", headers: { "content-type": "application/json", authorization: basicAuth() }, body: JSON.stringify({ batch }) });
    expect(native.status).toBe(207);
    expect(((await native.json()) as { errors: unknown[] }).errors).toEqual([]);
    await exported();

    const keys = await expectSameObjects("events/");
    expect(keys.some((key) => key.startsWith(`events/${TEST_KEYS.projectId}/observation/span a+b%c ü/`))).toBe(true);
    expect(keys.some((key) => key.startsWith(`events/${TEST_KEYS.projectId}/trace/trace_with slash_`))).toBe(true);
    expect(keys.filter((key) => key.includes("/observation/"))).toHaveLength(3);

    const jobs = await redis.jobs();
    expect(jobs.length).toBe(keys.length);
    for (const job of jobs) {
      const { bucketPrefix, fileKey, eventBodyId } = job.data.payload.data as { bucketPrefix: string; fileKey: string; eventBodyId: string };
      // The worker lists the prefix when skipS3List is off, and reads `<prefix><fileKey>.json` directly when on.
      expect(await azurite.listKeys(bucketPrefix)).toContain(`${bucketPrefix}${fileKey}.json`);
      const events = await azurite.getJson<Array<{ body: { id: string } }>>(`${bucketPrefix}${fileKey}.json`);
      expect(events.map((event) => event.body.id)).toContain(eventBodyId);
    }
  });

  it("raw OTel path: the otel-ingestion-job's object is in Azurite, byte for byte what s3 stored", async () => {
    const response = await fetch(`${daemon.url("otlp/raw")}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: basicAuth() },
      body: toJson(resourceSpans([span({ traceId: "1af7651916cd43dd8448eb211c80319c", attributes: { "langfuse.observation.input": "ünïcode" } })])),
    });
    expect(response.status).toBe(200);
    await exported();
    const keys = await expectSameObjects(`events/otel/${TEST_KEYS.projectId}/`);
    expect(keys).toHaveLength(1);
    const [job] = await redis.jobs("otel-ingestion-queue");
    expect(job!.data.payload.data.fileKey).toBe(keys[0]);
    const stored = await azurite.getJson<Array<{ scopeSpans: Array<{ spans: Array<{ traceId: string }> }> }>>(keys[0]!);
    expect(stored[0]!.scopeSpans[0]!.spans[0]!.traceId).toBe("1af7651916cd43dd8448eb211c80319c");
  });
});

/** The exporter on its own, with a log that records what the start-up check said. */
async function exporterWith(config: Record<string, unknown>) {
  const lines: Array<{ level: number; msg: string; reason?: string }> = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const exporter = azureBlobExporterFactory.create({ id: parseComponentId("azure_blob")!, logger, metrics }, azureBlobConfigSchema.parse({ container: "langfuse", prefix: "events/", max_attempts: 1, ...config }));
  await exporter.start();
  const said = async (pattern: RegExp) => {
    await waitFor(() => lines.some((line) => pattern.test(line.msg)), 10_000, `a log line ${pattern}`);
    return lines.find((line) => pattern.test(line.msg))!;
  };
  const exportOne = async (id: string = randomUUID()) => {
    const group = new ExportGroup("trace", id, randomUUID(), "trace-create", Buffer.from(JSON.stringify([{ id, body: { id } }])));
    const request: ExportRequest = { context: { receiver: "otlp", transport: "http", source: "otel", authorization: undefined, sdkName: "unknown", sdkVersion: "unknown", ingestionVersion: "", scope: { projectId: "p1", accessLevel: "project", publicKey: "pk" } }, groups: [group] };
    const failures = await exporter.exportGroups(request);
    return { key: `events/p1/trace/${id}/${group.firstEventId}.json`, failures, body: group.body };
  };
  return { exporter, lines, said, exportOne };
}

describe("azure_blob credentials and start-up check", () => {
  it.each([
    ["account name and key", () => ({ endpoint: azurite.endpoint, account_name: AZURITE_ACCOUNT, account_key: AZURITE_KEY })],
    ["a connection string", () => ({ connection_string: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${azurite.endpoint};` })],
  ])("writes with %s, and says at start that the container is reachable", async (_name, config) => {
    const { exporter, said, exportOne } = await exporterWith(config());
    try {
      expect((await said(/container reachable/)).level).toBe(30);
      const { key, failures, body } = await exportOne();
      expect(failures).toEqual([]);
      expect((await azurite.getObject(key)).body).toBe(body.toString());
    } finally {
      await exporter.shutdown();
    }
  });

  it("writes with a SAS token that may only create and write, and says the container could not be checked", async () => {
    const sas = generateBlobSASQueryParameters(
      { containerName: "langfuse", permissions: ContainerSASPermissions.parse("cw"), expiresOn: new Date(Date.now() + 3_600_000) },
      new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
    ).toString();
    const { exporter, said, exportOne, lines } = await exporterWith({ endpoint: azurite.endpoint, sas_token: sas });
    try {
      expect((await said(/could not check the container at start/)).level).toBe(40);
      const { key, failures } = await exportOne("sas write");
      expect(failures).toEqual([]);
      expect(await azurite.listKeys(key)).toEqual([key]);
      // The token's signature never reaches the log.
      expect(JSON.stringify(lines)).not.toContain(new URLSearchParams(sas).get("sig"));
    } finally {
      await exporter.shutdown();
    }
  });

  it.each([
    ["a missing container", () => ({ endpoint: azurite.endpoint, account_name: AZURITE_ACCOUNT, account_key: AZURITE_KEY, container: "no-such-container" }), /ContainerNotFound.*container "no-such-container" does not exist at http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1: create it/],
    ["a wrong account key", () => ({ endpoint: azurite.endpoint, account_name: AZURITE_ACCOUNT, account_key: Buffer.from("wrong key").toString("base64") }), /(AuthenticationFailed|AuthorizationFailure) \(HTTP 403\).*; check the (account name and key|credentials)/],
  ])("with %s: an error at start, and exports fail for good with the same reason", async (_name, config, reason) => {
    const { exporter, said, exportOne } = await exporterWith(config());
    try {
      const logged = await said(/the container cannot be written/);
      expect(logged.level).toBe(50);
      expect(logged.reason).toMatch(reason);
      const { failures } = await exportOne();
      expect(failures).toHaveLength(1);
      expect(failures[0]!.error).toBeInstanceOf(PermanentError);
      expect(failures[0]!.error.message).toMatch(reason);
    } finally {
      await exporter.shutdown();
    }
  });

  it("with nothing listening: a warning at start, and exports fail retryably with the store's Retry-After", async () => {
    const { exporter, said, exportOne } = await exporterWith({ endpoint: `http://127.0.0.1:${await freePort()}/${AZURITE_ACCOUNT}`, account_name: AZURITE_ACCOUNT, account_key: AZURITE_KEY, retry_after: "3s" });
    try {
      expect((await said(/container not reachable at start/)).reason).toMatch(/not reachable: ECONNREFUSED/);
      const { failures } = await exportOne();
      expect(failures[0]!.error).toBeInstanceOf(RetryableError);
      expect((failures[0]!.error as RetryableError).retryAfterMs).toBe(3000);
    } finally {
      await exporter.shutdown();
    }
  });
});
