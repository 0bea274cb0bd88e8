import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync, gzipSync } from "node:zlib";
import fc from "fast-check";
import { basicAuth, TEST_KEYS } from "../support/daemon.js";
import { DaemonProcess } from "../support/daemon-process.js";
import { resourceSpans, span, toJson, toProtobuf } from "../support/otlp.js";
import { freePort } from "../support/redis-server.js";
import { testRedis, type TestRedis } from "../support/redis.js";

/**
 * Memory stays bounded whatever the body: the daemon process, as users run it, takes a fuzzed
 * stream of decompression bombs (1 GiB of zeros in ~1 MiB of gzip or deflate), oversized plain
 * bodies and garbage, six at a time, next to valid requests. Its peak resident memory (VmHWM)
 * stays far below what buffering any one of those bodies would take, and it keeps serving.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const RUNS = Math.min(Number(process.env.FUZZ_RUNS ?? 40), 400);
const LIMIT_BYTES = 1024 * 1024;

let folder: string;
let redis: TestRedis;
let daemon: DaemonProcess;
let url: string;

/** Gzip members concatenate into one stream: 16 × 64 MiB of zeros, about 1 MiB on the wire. */
function gzipBomb(): Buffer {
  const member = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
  return Buffer.concat(Array.from({ length: 16 }, () => member));
}

const bombs = { gzip: gzipBomb(), deflate: deflateSync(Buffer.alloc(256 * 1024 * 1024), { level: 9 }) };

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "lor-memory-"));
  redis = testRedis();
  const port = await freePort();
  const file = join(folder, "daemon.yaml");
  await writeFile(
    file,
    `receivers:
  otlp:
    http: { endpoint: 127.0.0.1:${port}, max_request_body_size: ${LIMIT_BYTES} }
processors:
  validate: {}
  auth: { keys: [{ public_key: ${TEST_KEYS.publicKey}, secret_key: ${TEST_KEYS.secretKey}, project_id: ${TEST_KEYS.projectId} }] }
  group: {}
exporters:
  file: { directory: ${join(folder, "blobs")}, fsync: false }
  bullmq:
    redis: { url: redis://127.0.0.1:6379, key_prefix: ${redis.keyPrefix} }
service:
  workers: 1
  telemetry: { logs: { level: warn }, health: { endpoint: 127.0.0.1:0 }, metrics: { endpoint: 127.0.0.1:0 } }
  spool: { directory: ${join(folder, "spool")}, fsync: false }
  pipelines:
    events:
      receivers: [otlp]
      processors: [validate, auth, group]
      exporters: [file, bullmq]
`,
  );
  daemon = new DaemonProcess(file, { LOG_LEVEL: "info" });
  await daemon.start();
  url = `http://${daemon.address("http")}/v1/traces`;
});

afterAll(async () => {
  await daemon?.stop("SIGTERM");
  await redis?.cleanup();
  await rm(folder, { recursive: true, force: true });
});

function peakRssBytes(pid: number): number {
  const kib = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kib) * 1024;
}

type Body = { kind: string; body: Buffer; headers: Record<string, string>; expected: number[] };

const request = fc.oneof(
  fc.constant<Body>({ kind: "gzip bomb", body: bombs.gzip, headers: { "content-type": "application/json", "content-encoding": "gzip" }, expected: [413, 429] }),
  fc.constant<Body>({ kind: "deflate bomb", body: bombs.deflate, headers: { "content-type": "application/x-protobuf", "content-encoding": "deflate" }, expected: [413, 429] }),
  fc.integer({ min: LIMIT_BYTES + 1, max: 8 * LIMIT_BYTES }).map((size): Body => ({ kind: "oversized", body: Buffer.alloc(size, 0x61), headers: { "content-type": "application/json" }, expected: [413] })),
  fc.uint8Array({ minLength: 1, maxLength: 4096 }).map((bytes): Body => ({ kind: "garbage", body: Buffer.from(bytes), headers: { "content-type": "application/x-protobuf" }, expected: [200, 400] })),
  fc.uint8Array({ minLength: 16, maxLength: 16 }).map((id): Body => ({ kind: "valid", body: toProtobuf(resourceSpans([span({ traceId: Buffer.from(id).toString("hex") })])), headers: { "content-type": "application/x-protobuf" }, expected: [200] })),
);

async function send(item: Body): Promise<number> {
  try {
    const response = await fetch(url, { method: "POST", headers: { ...item.headers, authorization: basicAuth() }, body: item.body });
    await response.arrayBuffer();
    return response.status;
  } catch {
    // The daemon may close a connection whose body it stopped reading before the upload ends.
    return 413;
  }
}

describe("memory under hostile bodies", () => {
  it("stays bounded through decompression bombs and oversized bodies, six at a time, and keeps serving", async () => {
    const baseline = peakRssBytes(daemon.pid!);
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 6, maxLength: 6 }), async (items) => {
        const statuses = await Promise.all(items.map(send));
        items.forEach((item, index) => expect(item.expected, item.kind).toContain(statuses[index]));
      }),
      { seed: SEED, numRuns: RUNS },
    );
    const peak = peakRssBytes(daemon.pid!);
    // One inflated bomb alone would be 256 MiB to 1 GiB; six bodies at the limit are 6 MiB.
    expect(peak - baseline).toBeLessThan(160 * 1024 * 1024);
    const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: basicAuth() }, body: toJson(resourceSpans([span()])) });
    expect(response.status).toBe(200);
  });
});
