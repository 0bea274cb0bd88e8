import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfigText } from "../../src/config/load.js";
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type TestAzurite } from "../support/azurite.js";
import { basicAuth, startDaemon, type TestDaemon } from "../support/daemon.js";
import { resourceSpans, span, toProtobuf } from "../support/otlp.js";
import { testRedis, type TestRedis } from "../support/redis.js";

/**
 * The shipped config/examples/langfuse-azure.yaml, run against Azurite as written except for what
 * a test must change (free ports, a private Redis key prefix and spool folder): the raw path and
 * native scores land in the container, and every job points at a blob there. Each credential
 * alternative its comments offer is a valid config too.
 */
const EXAMPLE = resolve(import.meta.dirname, "../../config/examples/langfuse-azure.yaml");
const KEYS = { LANGFUSE_PUBLIC_KEY: "pk-lf-az", LANGFUSE_SECRET_KEY: "sk-lf-az", LANGFUSE_PROJECT_ID: "project-az" };
const auth = basicAuth(KEYS.LANGFUSE_PUBLIC_KEY, KEYS.LANGFUSE_SECRET_KEY);

let azurite: TestAzurite;
let redis: TestRedis;
let daemon: TestDaemon;
let spool: string;

beforeAll(async () => {
  azurite = await startAzurite();
  redis = testRedis();
  spool = await mkdtemp(join(tmpdir(), "lor-example-azure-"));
  const yaml = readFileSync(EXAMPLE, "utf8")
    .replaceAll(/127\.0\.0\.1:(4317|4318|3000)/g, "127.0.0.1:0")
    .replace("url: ${env:REDIS_URL:-redis://127.0.0.1:6379}", `url: \${env:REDIS_URL:-redis://127.0.0.1:6379}\n      key_prefix: ${redis.keyPrefix}`)
    .replace("service:\n", `service:\n  telemetry: { health: { endpoint: 127.0.0.1:0 }, metrics: { endpoint: 127.0.0.1:0 } }\n  spool: { directory: ${spool}, fsync: false }\n`);
  daemon = await startDaemon(yaml, {
    env: { ...KEYS, AZURE_BLOB_ENDPOINT: azurite.endpoint, AZURE_STORAGE_ACCOUNT: AZURITE_ACCOUNT, AZURE_STORAGE_KEY: AZURITE_KEY, REDIS_URL: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379" },
  });
});

afterAll(async () => {
  await daemon?.stop();
  await redis?.cleanup();
  await azurite?.destroy();
  await rm(spool, { recursive: true, force: true });
});

const exported = () => Promise.all(daemon.service.pipelines.map((pipeline) => pipeline.spool?.idle()));

describe("config/examples/langfuse-azure.yaml", () => {
  it("stores OTLP exports and native scores in the container, each with its job", async () => {
    const viaOtlp = await fetch(`${daemon.url("otlp")}/v1/traces`, { method: "POST", headers: { "content-type": "application/x-protobuf", authorization: auth }, body: toProtobuf(resourceSpans([span({ traceId: "c".repeat(32) })])) });
    expect(viaOtlp.status).toBe(200);
    const score = await fetch(`${daemon.url("langfuse")}/api/public/ingestion`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: auth },
      body: JSON.stringify({ batch: [{ id: "s-1", type: "score-create", timestamp: "2026-01-01T00:00:00.000Z", body: { id: "score-1", traceId: "t-1", name: "quality", value: 1 } }] }),
    });
    expect(score.status).toBe(207);
    await exported();
    const keys = await azurite.listKeys("events/");
    const otelKeys = keys.filter((key) => key.startsWith("events/otel/project-az/"));
    expect(otelKeys).toHaveLength(1);
    expect(keys).toContain("events/project-az/score/score-1/s-1.json");
    expect((await redis.jobs("otel-ingestion-queue")).map((job) => job.data.payload.data.fileKey)).toEqual(otelKeys);
    const [job] = await redis.jobs("ingestion-queue");
    expect(`${job!.data.payload.data.bucketPrefix}${job!.data.payload.data.fileKey}.json`).toBe("events/project-az/score/score-1/s-1.json");
  });

  it("offers only valid credential alternatives in its comments", () => {
    const text = readFileSync(EXAMPLE, "utf8");
    const alternatives = [...text.matchAll(/^ {4}# {3}((?:entra_id|sas_token|connection_string): .*)$/gm)].map((match) => match[1]!);
    expect(alternatives.map((line) => line.split(":")[0])).toEqual(["entra_id", "entra_id", "sas_token", "connection_string"]);
    const env = { ...KEYS, AZURE_BLOB_ENDPOINT: "https://acct.blob.core.windows.net", AZURE_STORAGE_ACCOUNT: "acct", AZURE_STORAGE_CONNECTION_STRING: `AccountName=acct;AccountKey=${AZURITE_KEY}` };
    for (const alternative of alternatives) {
      let yaml = text.replace(/^ {4}account_name: .*\n {4}account_key: .*\n/m, `    account_name: \${env:AZURE_STORAGE_ACCOUNT}\n    ${alternative}\n`);
      if (alternative.startsWith("connection_string")) yaml = yaml.replace(/^ {4}(endpoint|account_name): .*\n/gm, "");
      // The SAS token comes from a file, as from a mounted Secret.
      yaml = yaml.replace("${file:/var/run/secrets/azure-storage/sas-token}", "sv=2025-11-05&sr=c&sp=cw&sig=abc");
      expect(() => loadConfigText(yaml, { env }), alternative).not.toThrow();
    }
  });
});
