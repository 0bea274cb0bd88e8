import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { BlobServiceClient, StorageSharedKeyCredential, newPipeline } from "@azure/storage-blob";
import { SharedKeySigner } from "../../../src/exporters/azure/shared-key.js";
import { encodeKeyPath } from "../../../src/exporters/http-put.js";

/**
 * The exporter's Shared Key signer against @azure/storage-blob's own: the SDK sends its requests
 * to a server that records them, and the signer must compute, from what arrived, exactly the
 * Authorization the SDK sent. (Azurite checks the signer on real requests in
 * test/integration/azure-blob.test.ts.)
 */
const ACCOUNT = "devstoreaccount1";
const KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

const received: IncomingMessage[] = [];
let server: Server;
let endpoint: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    received.push(request);
    request.resume();
    request.on("end", () => response.writeHead(request.method === "PUT" ? 201 : 200, { "x-ms-request-id": "r" }).end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/${ACCOUNT}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** The signer's view of a received request: path as sent, decoded query, lower-case headers. */
function recompute(request: IncomingMessage): string {
  const url = new URL(request.url!, "http://x");
  const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => name !== "authorization").map(([name, value]) => [name, String(value)]));
  const query = url.search === "" ? undefined : Object.fromEntries(url.searchParams);
  return new SharedKeySigner(ACCOUNT, KEY).authorization({ method: request.method!, path: url.pathname, query, headers });
}

describe("Shared Key signer", () => {
  const client = () => new BlobServiceClient(endpoint, newPipeline(new StorageSharedKeyCredential(ACCOUNT, KEY), { retryOptions: { maxTries: 1 } }));

  it.each([
    ["a plain key", "events/project-1/trace/t1/e1.json", {}],
    ["spaces, plus, percent, non-ASCII, and quotes", "events/p 1/observation/a+b%c/é'ü (1)*!.json", {}],
    ["a content type and a create-only condition", "otel/p/2026/12/07/10/00/u.json", { blobHTTPHeaders: { blobContentType: "application/json" }, conditions: { ifNoneMatch: "*" } }],
  ])("signs Put Blob with %s exactly as the SDK does", async (_case, name, options) => {
    received.length = 0;
    const body = Buffer.from('[{"id":"é"}]');
    await client().getContainerClient("langfuse").getBlockBlobClient(name).upload(body, body.length, options);
    const [request] = received;
    expect(request!.method).toBe("PUT");
    // The same blob name as the exporter's encoding of it (the SDK leaves more characters unescaped).
    expect(decodeURIComponent(request!.url!)).toBe(decodeURIComponent(`/${ACCOUNT}/langfuse/${encodeKeyPath(name)}`));
    expect(request!.headers.authorization).toMatch(/^SharedKey devstoreaccount1:/);
    expect(recompute(request!)).toBe(request!.headers.authorization);
  });

  it("signs a request with query parameters (Get Container Properties) exactly as the SDK does", async () => {
    received.length = 0;
    await client().getContainerClient("langfuse").getProperties();
    const [request] = received;
    expect(request!.url).toContain("restype=container");
    expect(recompute(request!)).toBe(request!.headers.authorization);
  });

  it("signs a zero Content-Length as empty, and another key gives another signature", () => {
    const request = { method: "PUT", path: "/a/b", headers: { "content-length": "0", "x-ms-date": "Mon, 07 Dec 2026 10:00:00 GMT", "x-ms-version": "2025-11-05" } };
    const signer = new SharedKeySigner("a", KEY);
    expect(signer.stringToSign(request)).toBe("PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Mon, 07 Dec 2026 10:00:00 GMT\nx-ms-version:2025-11-05\n/a/a/b");
    expect(new SharedKeySigner("a", Buffer.from("other").toString("base64")).authorization(request)).not.toBe(signer.authorization(request));
  });
});
