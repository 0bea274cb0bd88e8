import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll } from "vitest";
import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_ACCOUNT_KEY } from "../../src/exporters/azure/connection-string.js";

export const AZURITE_ACCOUNT = DEVELOPMENT_ACCOUNT;
export const AZURITE_KEY = DEVELOPMENT_ACCOUNT_KEY;

const AZURITE_BLOB = resolve(import.meta.dirname, "../../node_modules/.bin/azurite-blob");

/** Every Azurite a test started, killed when the test file ends (a failed test skips its own stop). */
const running = new Set<ChildProcess>();
afterAll(() => {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
});

/** How Azurite serves: plain HTTP with Shared Key and SAS (the default), or HTTPS that also takes bearer tokens. */
export interface AzuriteMode {
  /** Serve HTTPS with this certificate and key, and accept Entra ID bearer tokens (`--oauth basic`: Azurite checks their issuer, audience and expiry, not their signature). */
  tls?: { cert: string; key: string };
}

/**
 * Azurite's Blob service (the npm devDependency) in its own process on a free port, with its data
 * in a throwaway folder, as test/support/s3.ts runs s3rver, and `containers` (default `langfuse`)
 * created. `stop` and `start` again keep the data and the port, for outage tests; `start` may
 * switch to HTTPS and back. Reads go through @azure/storage-blob, over plain HTTP, the way
 * Langfuse's worker reads in Azure mode (list by prefix, download).
 */
export async function startAzurite(options: { containers?: string[] } = {}) {
  const location = await mkdtemp(join(tmpdir(), "lor-azurite-"));
  let child: ChildProcess | undefined;
  let port = 0;
  let scheme = "http";

  async function start(mode: AzuriteMode = {}): Promise<void> {
    scheme = mode.tls ? "https" : "http";
    const args = ["--silent", "--disableTelemetry", "--skipApiVersionCheck", "--location", location, "--blobHost", "127.0.0.1", "--blobPort", String(port)];
    if (mode.tls) args.push("--cert", mode.tls.cert, "--key", mode.tls.key, "--oauth", "basic");
    const started = spawn(AZURITE_BLOB, args, { stdio: ["ignore", "pipe", "pipe"] });
    running.add(started);
    started.once("exit", () => running.delete(started));
    child = started;
    port = await new Promise<number>((resolvePort, reject) => {
      let output = "";
      const listening = new RegExp(`listens on ${scheme}://127\\.0\\.0\\.1:(\\d+)`);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const match = listening.exec(output);
        if (match) resolvePort(Number(match[1]));
      };
      started.stdout!.on("data", onData);
      started.stderr!.on("data", onData);
      started.once("exit", (code) => reject(new Error(`azurite exited with ${code}: ${output}`)));
    });
  }

  /** Graceful stop (Azurite saves its metadata); the port stays reserved for `start`. */
  async function stop(): Promise<void> {
    const current = child;
    child = undefined;
    if (!current || current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise((resolveExit) => current.once("exit", resolveExit));
    current.kill("SIGTERM");
    await exited;
  }

  await start();
  const service = new BlobServiceClient(`http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`, new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY));
  // Reads need plain HTTP: the SDK has no option for a private CA in-process.
  const client = () => {
    if (scheme !== "http") throw new Error("Azurite serves HTTPS now: read its data after starting it again without TLS");
    return service;
  };
  for (const container of options.containers ?? ["langfuse"]) await client().getContainerClient(container).create();

  async function listKeys(prefix = "", container = "langfuse"): Promise<string[]> {
    const keys: string[] = [];
    for await (const blob of client().getContainerClient(container).listBlobsFlat({ prefix })) keys.push(blob.name);
    return keys.sort();
  }

  async function getObject(key: string, container = "langfuse"): Promise<{ body: string; contentType: string | undefined }> {
    const blob = client().getContainerClient(container).getBlobClient(key);
    const [body, properties] = await Promise.all([blob.downloadToBuffer(), blob.getProperties()]);
    return { body: body.toString("utf8"), contentType: properties.contentType };
  }

  async function getJson<T = unknown>(key: string, container = "langfuse"): Promise<T> {
    return JSON.parse((await getObject(key, container)).body) as T;
  }

  return {
    /** The Blob service URL, with the account in the path (Azurite's IP style). */
    get endpoint() {
      return `${scheme}://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
    },
    get port() {
      return port;
    },
    location,
    client,
    listKeys,
    getObject,
    getJson,
    start,
    stop,
    /** Stops the server and deletes its data. */
    async destroy(): Promise<void> {
      await stop();
      await rm(location, { recursive: true, force: true });
    },
  };
}

export type TestAzurite = Awaited<ReturnType<typeof startAzurite>>;

/** The azure_blob exporter's YAML block for a test Azurite (Shared Key, no retries inside the exporter). */
export function azureBlobYaml(endpoint: string, options: { id?: string; container?: string; prefix?: string; extra?: string } = {}): string {
  return `  ${options.id ?? "azure_blob"}:
    container: ${options.container ?? "langfuse"}
    prefix: ${options.prefix ?? "events/"}
    endpoint: ${endpoint}
    account_name: ${AZURITE_ACCOUNT}
    account_key: ${AZURITE_KEY}
    retry_after: 1s
    max_attempts: 1
${options.extra ?? ""}`;
}
