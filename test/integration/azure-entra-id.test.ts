import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { azureBlobConfigSchema, azureBlobExporterFactory } from "../../src/exporters/azure/factory.js";
import { parseComponentId } from "../../src/pipeline/component.js";
import { PermanentError } from "../../src/pipeline/errors.js";
import { ExportGroup } from "../../src/pipeline/export.js";
import { startAzurite, type TestAzurite } from "../support/azurite.js";
import { makeCertificates } from "../support/certificates.js";
import { TEST_KEYS } from "../support/daemon.js";
import { DaemonProcess, writeEventsProcessConfig } from "../support/daemon-process.js";
import { AckingClient, checkDelivery } from "../support/delivery.js";
import { ENTRA_HOST, startFakeEntraId, storageToken } from "../support/fake-entra-id.js";
import { freePort, waitFor } from "../support/redis-server.js";
import { testRedis, type TestRedis } from "../support/redis.js";
import { metrics } from "../../src/telemetry/metrics.js";

/**
 * azure_blob with Microsoft Entra ID, as on AKS with workload identity: the daemon (its own
 * process, with the environment the AKS webhook injects) gets a token from Entra ID with the
 * kubelet's federated token, through @azure/identity unchanged, and writes to Azurite over HTTPS
 * with it. Entra ID is a fake on login.microsoftonline.com behind a CONNECT proxy; Azurite checks
 * each token's issuer, audience and expiry.
 */
const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT = "5b8e4c1a-1111-2222-3333-444455556666";
const FEDERATED_TOKEN = `kubelet-projected-token-${randomUUID()}`;

let folder: string;
let certificates: ReturnType<typeof makeCertificates>;
let azurite: TestAzurite;
let redis: TestRedis;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "lor-entra-"));
  certificates = makeCertificates(folder, [ENTRA_HOST]);
  azurite = await startAzurite();
  redis = testRedis();
});

afterAll(async () => {
  await redis?.cleanup();
  await azurite?.destroy();
  await rm(folder, { recursive: true, force: true });
});

/** A Put Blob straight to Azurite over HTTPS with a given bearer token; resolves with the status. */
function putWithToken(token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = "[]";
    const request = httpsRequest(
      `${azurite.endpoint}/langfuse/control-${randomUUID()}.json`,
      { method: "PUT", ca: readFileSync(certificates.ca), headers: { authorization: `Bearer ${token}`, "x-ms-version": "2025-11-05", "x-ms-date": new Date().toUTCString(), "x-ms-blob-type": "BlockBlob", "content-length": body.length } },
      (response) => {
        response.resume();
        resolve(response.statusCode!);
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

describe("azure_blob with Entra ID workload identity", () => {
  it("gets one token with the federated token, writes every acknowledged span with it, and logs neither", async () => {
    const entra = await startFakeEntraId({ cert: certificates.serverCert, key: certificates.serverKey }, { tenantId: TENANT });
    await azurite.stop();
    await azurite.start({ tls: { cert: certificates.serverCert, key: certificates.serverKey } });
    try {
      // Azurite really checks the tokens: another audience is refused, Entra ID's storage token accepted.
      expect(await putWithToken(storageToken(TENANT, 3600, "https://vault.azure.net"))).toBe(403);
      expect(await putWithToken(storageToken(TENANT))).toBe(201);

      const tokenFile = join(folder, "azure-identity-token");
      await writeFile(tokenFile, FEDERATED_TOKEN);
      const file = join(folder, "entra.yaml");
      const url = await writeEventsProcessConfig(file, {
        blob: { id: "azure_blob", yaml: `  azure_blob:\n    container: langfuse\n    prefix: events/\n    endpoint: ${azurite.endpoint}\n    entra_id: { credential: workload_identity }\n` },
        keyPrefix: redis.keyPrefix,
        service: `  workers: 1\n  telemetry: { logs: { level: debug }, health: { endpoint: 127.0.0.1:0 }, metrics: { endpoint: 127.0.0.1:0 } }\n  spool: { directory: ${join(folder, "spool")}, fsync: false }\n`,
      });
      // What the AKS workload identity webhook injects, plus the test's way to Entra ID and its CA.
      const daemon = new DaemonProcess(file, {
        AZURE_TENANT_ID: TENANT,
        AZURE_CLIENT_ID: CLIENT,
        AZURE_FEDERATED_TOKEN_FILE: tokenFile,
        HTTPS_PROXY: entra.proxyUrl,
        NODE_EXTRA_CA_CERTS: certificates.ca,
      });
      await daemon.start();
      await waitFor(() => daemon.output.includes("azure_blob: container reachable"), 15_000, "the start-up check");
      const client = new AckingClient(() => url);
      for (let i = 0; i < 3; i += 1) expect(await client.send(3)).toBe(200);
      // 3 traces × (3 observations + 1 trace): each job only after its blob was written.
      await waitFor(async () => (await redis.jobs()).length === 12, 15_000, "12 jobs");
      expect(await daemon.stop("SIGTERM")).toBe(0);

      expect(entra.tokenRequests).toHaveLength(1);
      const [tokenRequest] = entra.tokenRequests;
      expect(tokenRequest!.get("client_id")).toBe(CLIENT);
      expect(tokenRequest!.get("client_assertion")).toBe(FEDERATED_TOKEN);
      expect(tokenRequest!.get("client_assertion_type")).toBe("urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
      expect(tokenRequest!.get("scope")).toBe("https://storage.azure.com/.default");
      expect(daemon.output).not.toContain(FEDERATED_TOKEN);
      expect(daemon.output).not.toContain(entra.issued[0]!.split(".")[1]);

      await azurite.stop();
      await azurite.start();
      const result = await checkDelivery(azurite, redis, client.acked, TEST_KEYS.projectId);
      expect(client.acked.size).toBe(9);
      expect(result.missing).toEqual([]);
      expect(result.dangling).toEqual([]);
    } finally {
      await entra.stop();
      await azurite.stop();
      await azurite.start();
    }
  });

  it("an application Entra ID does not know: the start-up log says so, with Entra ID's reason", async () => {
    const entra = await startFakeEntraId({ cert: certificates.serverCert, key: certificates.serverKey }, { tenantId: TENANT, refusedClientIds: ["unknown-app"] });
    try {
      const tokenFile = join(folder, "refused-token");
      await writeFile(tokenFile, FEDERATED_TOKEN);
      const file = join(folder, "refused.yaml");
      await writeFile(
        file,
        `receivers: { otlp: { http: { endpoint: 127.0.0.1:0 } } }
processors: { validate: {}, auth: { keys: [{ public_key: pk, secret_key: sk, project_id: p }] } }
exporters:
  azure_blob: { container: langfuse, endpoint: "https://127.0.0.1:${await freePort()}/devstoreaccount1", entra_id: {} }
service:
  workers: 1
  telemetry: { health: { endpoint: 127.0.0.1:0 }, metrics: { endpoint: 127.0.0.1:0 } }
  spool: { directory: ${join(folder, "refused-spool")} }
  pipelines: { events: { receivers: [otlp], processors: [validate, auth], exporters: [azure_blob] } }
`,
      );
      const daemon = new DaemonProcess(file, { AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: "unknown-app", AZURE_FEDERATED_TOKEN_FILE: tokenFile, HTTPS_PROXY: entra.proxyUrl, NODE_EXTRA_CA_CERTS: certificates.ca });
      await daemon.start();
      await waitFor(() => daemon.output.includes("the container cannot be written"), 15_000, "the start-up error");
      expect(await daemon.stop("SIGTERM")).toBe(0);
      const line = daemon.output.split("\n").find((text) => text.includes("the container cannot be written"))!;
      expect(JSON.parse(line)).toMatchObject({ level: 50, reason: expect.stringMatching(/^Azure Entra ID token: .*unauthorized_client.*AADSTS700016.*fix the identity's configuration\)$/) });
      expect(entra.tokenRequests.map((request) => request.get("client_id"))).toContain("unknown-app");
    } finally {
      await entra.stop();
    }
  });

  it("without the identity's environment: says so at start, and exports fail for good", async () => {
    const lines: Array<{ level: number; msg: string; reason?: string }> = [];
    const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const config = azureBlobConfigSchema.parse({ container: "langfuse", endpoint: `https://127.0.0.1:${await freePort()}/devstoreaccount1`, entra_id: {} });
    const saved = { AZURE_TENANT_ID: process.env.AZURE_TENANT_ID, AZURE_CLIENT_ID: process.env.AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE: process.env.AZURE_FEDERATED_TOKEN_FILE };
    for (const name of Object.keys(saved)) delete process.env[name];
    const exporter = azureBlobExporterFactory.create({ id: parseComponentId("azure_blob")!, logger, metrics }, config);
    try {
      await exporter.start();
      await waitFor(() => lines.some((line) => line.level === 50), 10_000, "the start-up error");
      const logged = lines.find((line) => line.level === 50)!;
      expect(logged.msg).toBe("azure_blob: the container cannot be written; exports will be dead-lettered until this is fixed");
      expect(logged.reason).toMatch(/^Azure Entra ID token: CredentialUnavailableError: .*AZURE_CLIENT_ID.*fix the identity's configuration/);
      const group = new ExportGroup("trace", "t1", randomUUID(), "trace-create", Buffer.from("[]"));
      const failures = await exporter.exportGroups({ context: { receiver: "otlp", transport: "http", source: "otel", authorization: undefined, sdkName: "unknown", sdkVersion: "unknown", ingestionVersion: "", scope: { projectId: "p1", accessLevel: "project", publicKey: "pk" } }, groups: [group] });
      expect(failures).toHaveLength(1);
      expect(failures[0]!.error).toBeInstanceOf(PermanentError);
    } finally {
      await exporter.shutdown();
      for (const [name, value] of Object.entries(saved)) if (value !== undefined) process.env[name] = value;
    }
  });
});
