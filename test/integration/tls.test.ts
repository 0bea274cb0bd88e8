import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import type { TLSSocket } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, Metadata, makeGenericClientConstructor, status as grpcStatus } from "@grpc/grpc-js";
import { basicAuth, TEST_KEYS } from "../support/daemon.js";
import { makeCertificates } from "../support/certificates.js";
import { resourceSpans, span, toJson, toProtobuf } from "../support/otlp.js";
import { waitFor } from "../support/redis-server.js";
import { startStack, type TestStack } from "../support/stack.js";

/** TLS and mutual TLS on the receivers, with certificates renewed while the daemon runs. */
let folder: string;
let certs: ReturnType<typeof makeCertificates>;
let stack: TestStack;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "lor-tls-"));
  certs = makeCertificates(folder);
  const tls = `tls: { cert_file: ${certs.serverCert}, key_file: ${certs.serverKey}, client_ca_file: ${certs.ca}, reload_interval: 100ms }`;
  stack = await startStack({
    configure: (yaml) =>
      yaml
        .replace("grpc: { endpoint: 127.0.0.1:0 }", `grpc: { endpoint: 127.0.0.1:0, ${tls} }`)
        .replace("http: { endpoint: 127.0.0.1:0 }", `http: { endpoint: 127.0.0.1:0, ${tls} }`),
  });
});

afterAll(async () => {
  await stack?.stop();
  await rm(folder, { recursive: true, force: true });
});

function address(scheme: "https" | "grpcs"): string {
  return stack.daemon.addresses("otlp").find((item) => item.startsWith(`${scheme}://`))!.replace(`${scheme}://`, "");
}

/** POST over HTTPS; resolves with the status and the server certificate's serial number. */
function post(withClientCertificate: boolean, traceId: string): Promise<{ status: number; serial: string }> {
  const [host, port] = address("https").split(":");
  const body = toJson(resourceSpans([span({ traceId })]));
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      {
        host,
        port: Number(port),
        method: "POST",
        path: "/v1/traces",
        headers: { "content-type": "application/json", authorization: basicAuth(), "content-length": body.length },
        ca: readFileSync(certs.ca),
        ...(withClientCertificate ? { cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) } : {}),
        agent: false,
      },
      (response) => {
        response.resume();
        response.on("end", () => resolve({ status: response.statusCode!, serial: (response.socket as TLSSocket).getPeerCertificate().serialNumber }));
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

describe("TLS on the receivers", () => {
  it("serves OTLP/HTTP over TLS to clients with a certificate from the configured CA, and refuses others", async () => {
    const accepted = await post(true, "00000000000000000000000000007151");
    expect(accepted.status).toBe(200);
    expect(await stack.s3.listKeys(`events/${TEST_KEYS.projectId}/trace/00000000000000000000000000007151/`)).toHaveLength(1);
    await expect(post(false, "00000000000000000000000000007152")).rejects.toThrow();
  });

  it("serves OTLP/gRPC over mutual TLS", async () => {
    const Client = makeGenericClientConstructor({}, "TraceService");
    const client = new Client(
      address("grpcs"),
      credentials.createSsl(readFileSync(certs.ca), readFileSync(certs.clientKey), readFileSync(certs.clientCert)),
    );
    const metadata = new Metadata();
    metadata.set("authorization", basicAuth());
    const code = await new Promise<number>((resolve) => {
      client.makeUnaryRequest(
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        (value: Buffer) => value,
        (value: Buffer) => value,
        toProtobuf(resourceSpans([span({ traceId: "00000000000000000000000000007153" })])),
        metadata,
        (error) => {
          client.close();
          resolve(error ? error.code : grpcStatus.OK);
        },
      );
    });
    expect(code).toBe(grpcStatus.OK);
  });

  it("picks up a renewed certificate without a restart", async () => {
    const before = (await post(true, "00000000000000000000000000007154")).serial;
    certs.renewServer();
    await waitFor(async () => (await post(true, "00000000000000000000000000007155")).serial !== before, 10_000, "the renewed certificate to be served");
  });
});
