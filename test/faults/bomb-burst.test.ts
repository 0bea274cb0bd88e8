import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect as connectHttp2, constants as http2 } from "node:http2";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { basicAuth, TEST_KEYS } from "../support/daemon.js";
import { DaemonProcess } from "../support/daemon-process.js";
import { resourceSpans, span, toJson } from "../support/otlp.js";
import { freePort, waitFor } from "../support/redis-server.js";

/**
 * Many compression bombs at once, with and without credentials, over HTTP and gRPC, against the
 * daemon process as users run it, with its default limits (64 MiB bodies, 128 MiB of bodies in
 * flight). Refused clients cost only their headers; accepted ones cost at most the request budget;
 * the memory is back near where it was within seconds; valid requests are served throughout and
 * after. The figures printed here are the ones SECURITY.md states.
 */
let folder: string;
let daemon: DaemonProcess;
let httpUrl: string;
let grpcAddress: string;

/** 16 gzip members of 64 MiB of zeros each: 1 GiB inflated, about 1 MiB on the wire. */
const member = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
const bomb = Buffer.concat(Array.from({ length: 16 }, () => member));

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "lor-bombs-"));
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const file = join(folder, "daemon.yaml");
  await writeFile(
    file,
    `receivers:
  otlp:
    http: { endpoint: 127.0.0.1:${httpPort} }
    grpc: { endpoint: 127.0.0.1:${grpcPort} }
processors:
  validate: {}
  auth: { keys: [{ public_key: ${TEST_KEYS.publicKey}, secret_key: ${TEST_KEYS.secretKey}, project_id: ${TEST_KEYS.projectId} }] }
exporters:
  file: { directory: ${join(folder, "blobs")}, fsync: false }
service:
  workers: 1
  telemetry: { logs: { level: warn }, health: { endpoint: 127.0.0.1:0 }, metrics: { endpoint: 127.0.0.1:0 } }
  spool: { directory: ${join(folder, "spool")}, fsync: false }
  pipelines:
    events: { receivers: [otlp], processors: [validate, auth], exporters: [file] }
`,
  );
  daemon = new DaemonProcess(file, { LOG_LEVEL: "info" });
  await daemon.start();
  httpUrl = `http://127.0.0.1:${httpPort}/v1/traces`;
  grpcAddress = `http://127.0.0.1:${grpcPort}`;
});

afterAll(async () => {
  await daemon?.stop("SIGTERM");
  await rm(folder, { recursive: true, force: true });
});

function memory(field: "VmRSS" | "VmHWM"): number {
  const kib = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(readFileSync(`/proc/${daemon.pid}/status`, "utf8"))?.[1];
  return Number(kib) * 1024;
}

const MiB = 1024 * 1024;

async function httpBomb(authorization: string | undefined): Promise<number> {
  try {
    const response = await fetch(httpUrl, {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": "gzip", ...(authorization ? { authorization } : {}) },
      body: bomb,
    });
    await response.arrayBuffer();
    return response.status;
  } catch {
    // The daemon may close a connection whose body it never read before the upload ends.
    return -1;
  }
}

/** One gRPC Export call whose message is the bomb, sent as a compressed gRPC message; resolves with the grpc-status. */
function grpcBomb(authorization: string | undefined): Promise<number> {
  return new Promise((resolve) => {
    const session = connectHttp2(grpcAddress);
    session.on("error", () => resolve(-1));
    const headers: Record<string, string> = {
      [http2.HTTP2_HEADER_METHOD]: "POST",
      [http2.HTTP2_HEADER_PATH]: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
      "content-type": "application/grpc",
      te: "trailers",
      "grpc-encoding": "gzip",
    };
    if (authorization) headers.authorization = authorization;
    const stream = session.request(headers);
    let status = -1;
    const take = (fields: Record<string, unknown>) => {
      if (fields["grpc-status"] !== undefined) status = Number(fields["grpc-status"]);
    };
    stream.on("response", take);
    stream.on("trailers", take);
    stream.on("error", () => undefined);
    stream.resume();
    stream.on("close", () => {
      session.close();
      resolve(status);
    });
    const prefix = Buffer.alloc(5);
    prefix.writeUInt8(1, 0);
    prefix.writeUInt32BE(bomb.length, 1);
    stream.end(Buffer.concat([prefix, bomb]));
  });
}

async function valid(): Promise<number> {
  const response = await fetch(httpUrl, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: basicAuth() },
    body: toJson(resourceSpans([span()])),
  });
  await response.arrayBuffer();
  return response.status;
}

function tally(statuses: number[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

describe("compression bombs in bursts", () => {
  it("refused clients cost only headers, accepted ones the budget, and the memory comes back", async () => {
    const baseline = memory("VmRSS");
    const wrong = basicAuth(TEST_KEYS.publicKey, "sk-lf-wrong");

    // 48 bombs without valid credentials, half over HTTP, half over gRPC: refused from their headers.
    const refused = await Promise.all([
      ...Array.from({ length: 24 }, (_, index) => httpBomb(index % 2 === 0 ? undefined : wrong)),
      ...Array.from({ length: 24 }, (_, index) => grpcBomb(index % 2 === 0 ? undefined : wrong)),
    ]);
    const refusedPeak = memory("VmHWM");

    // 48 bombs with valid credentials: inflated until the budget or the body limit stops each.
    const accepted = await Promise.all([...Array.from({ length: 24 }, () => httpBomb(basicAuth())), ...Array.from({ length: 24 }, () => grpcBomb(basicAuth()))]);
    const peak = memory("VmHWM");
    expect(await valid()).toBe(200);

    // Back near the baseline: the daemon collects what the refused bombs left behind.
    let settled = 0;
    await waitFor(() => (settled = memory("VmRSS")) < baseline + 48 * MiB, 15_000, "resident memory back near the baseline");

    const figures = {
      baselineMiB: Math.round(baseline / MiB),
      unauthenticated: { http: tally(refused.slice(0, 24)), grpc: tally(refused.slice(24)), peakGrowthMiB: Math.round((refusedPeak - baseline) / MiB) },
      authenticated: { http: tally(accepted.slice(0, 24)), grpc: tally(accepted.slice(24)), peakGrowthMiB: Math.round((peak - baseline) / MiB) },
      settledGrowthMiB: Math.round((settled - baseline) / MiB),
    };
    console.log(`bomb bursts: ${JSON.stringify(figures)}`);

    // Unauthenticated: 401 (HTTP) or UNAUTHENTICATED (gRPC, 16) for every one; the HTTP client
    // may see its upload cut once the answer is out (-1).
    for (const status of refused.slice(0, 24)) expect([401, -1]).toContain(status);
    for (const status of refused.slice(24)) expect(status).toBe(16);
    // Authenticated: too large (413 / RESOURCE_EXHAUSTED 8) or over the budget (429 / 8), never accepted.
    for (const status of accepted.slice(0, 24)) expect([413, 429, -1]).toContain(status);
    for (const status of accepted.slice(24)) expect(status).toBe(8);

    // 48 unauthenticated gigabyte bombs cost next to nothing; 48 authenticated ones at most the
    // budget and what its collection lags behind (they were 3.4 GB before the budget).
    expect(refusedPeak - baseline).toBeLessThan(64 * MiB);
    expect(peak - baseline).toBeLessThan(320 * MiB);
  });
});
