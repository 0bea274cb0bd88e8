import { afterEach, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { expectedAuthorization, type ReceivedRequest } from "../support/sigv4-reference.js";
import { S3ObjectWriter, S3ResponseError, type PutObjectSettings } from "../../src/exporters/s3/put-object.js";
import { classifyS3Error } from "../../src/exporters/s3/errors.js";
import { RetryableError } from "../../src/pipeline/errors.js";

/**
 * The S3 object writer on a real connection: what reaches the server is exactly what was signed
 * (checked with the AWS SDK's signer on the server side), and S3's error answers and silences
 * become the errors the exporter classifies.
 */

const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };

let server: Server | undefined;
let writer: S3ObjectWriter | undefined;

afterEach(async () => {
  await writer?.close();
  writer = undefined;
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

async function serve(handler: (request: IncomingMessage, body: Buffer, response: ServerResponse) => void): Promise<number> {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => handler(request, Buffer.concat(chunks), response));
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

function settings(port: number, overrides: Partial<PutObjectSettings> = {}): PutObjectSettings {
  return {
    bucket: "langfuse",
    region: "eu-west-1",
    endpoint: `http://127.0.0.1:${port}/storage`,
    forcePathStyle: true,
    serverSideEncryption: "aws:kms",
    sseKmsKeyId: "key-1",
    checksum: true,
    maxSockets: 4,
    connectTimeoutMs: 1000,
    requestTimeoutMs: 5000,
    ...overrides,
  };
}

describe("S3 object writer", () => {
  it("sends the PUT exactly as signed: path under the endpoint's path and bucket, body, hashes, SSE and checksum headers", async () => {
    const received: ReceivedRequest[] = [];
    const port = await serve((request, body, response) => {
      received.push({ method: request.method!, path: request.url!, headers: request.headers as Record<string, string>, body });
      response.writeHead(200, { etag: '"x"' }).end();
    });
    writer = new S3ObjectWriter(settings(port));
    const body = Buffer.from('[{"id":"é1","type":"trace-create"}]');
    await writer.put("events/p 1/trace/a+b!/e1.json", body, "application/json", credentials);
    await writer.put("events/p1/trace/t2/e2.json", Buffer.from("[]"), "application/json", { ...credentials, sessionToken: "token-1" });

    expect(received).toHaveLength(2);
    const first = received[0]!;
    expect(first.method).toBe("PUT");
    expect(first.path).toBe("/storage/langfuse/events/p%201/trace/a%2Bb%21/e1.json");
    expect(first.body.equals(body)).toBe(true);
    expect(first.headers.host).toBe(`127.0.0.1:${port}`);
    expect(first.headers["content-length"]).toBe(String(body.length));
    expect(first.headers["x-amz-content-sha256"]).toBe(createHash("sha256").update(body).digest("hex"));
    expect(first.headers["x-amz-server-side-encryption"]).toBe("aws:kms");
    expect(first.headers["x-amz-server-side-encryption-aws-kms-key-id"]).toBe("key-1");
    expect(first.headers["x-amz-checksum-crc32"]).toMatch(/^[A-Za-z0-9+/]{6}==$/);
    expect(received[1]!.headers["x-amz-security-token"]).toBe("token-1");
    for (const request of received) expect(request.headers.authorization).toBe(await expectedAuthorization(request, credentials, "eu-west-1"));
  });

  it("rejects with S3's error code, message and status, reading at most a bounded part of a huge answer", async () => {
    const port = await serve((request, _body, response) => {
      response.writeHead(request.url!.includes("huge") ? 500 : 403, { "content-type": "application/xml" });
      if (request.url!.includes("huge")) {
        response.end(`<Error><Code>InternalError</Code><Message>We encountered an internal error</Message>${"x".repeat(2 * 1024 * 1024)}</Error>`);
      } else {
        response.end("<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>");
      }
    });
    writer = new S3ObjectWriter(settings(port));
    const denied = await writer.put("a.json", Buffer.from("[]"), "application/json", credentials).catch((error: unknown) => error);
    expect(denied).toBeInstanceOf(S3ResponseError);
    expect(denied).toMatchObject({ name: "AccessDenied", message: "Access Denied", $metadata: { httpStatusCode: 403 } });
    const huge = await writer.put("huge.json", Buffer.from("[]"), "application/json", credentials).catch((error: unknown) => error);
    expect(huge).toMatchObject({ name: "InternalError", $metadata: { httpStatusCode: 500 } });
    // The connection stays usable after both error answers.
    const again = await writer.put("a.json", Buffer.from("[]"), "application/json", credentials).catch((error: unknown) => error);
    expect(again).toMatchObject({ name: "AccessDenied" });
  });

  it("gives up on an S3 that never answers after request_timeout, as a retryable failure", async () => {
    const port = await serve(() => {
      // never answers
    });
    writer = new S3ObjectWriter(settings(port, { requestTimeoutMs: 200 }));
    const error = await writer.put("a.json", Buffer.from("[]"), "application/json", credentials).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect(classifyS3Error(error, 1000)).toBeInstanceOf(RetryableError);
  });

  it("fails a PUT to a closed port as a retryable network error", async () => {
    const port = await serve(() => undefined);
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
    writer = new S3ObjectWriter(settings(port));
    const error = await writer.put("a.json", Buffer.from("[]"), "application/json", credentials).catch((caught: unknown) => caught);
    expect(String((error as Error).message) + String((error as { code?: string }).code)).toMatch(/ECONNREFUSED/);
    expect(classifyS3Error(error, 1000)).toBeInstanceOf(RetryableError);
  });
});
