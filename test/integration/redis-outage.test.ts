import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { status as grpcStatus } from "@grpc/grpc-js";
import { RpcStatus, RetryInfo } from "../../src/otlp/schema.js";
import { basicAuth, startDaemon, TEST_KEYS, type TestDaemon } from "../support/daemon.js";
import { exportOverGrpc, type GrpcExportResult } from "../support/grpc.js";
import { resourceSpans, span, toJson, toProtobuf } from "../support/otlp.js";
import { freePort, RedisServerProcess, waitFor } from "../support/redis-server.js";
import { startS3, type TestS3 } from "../support/s3.js";

/**
 * Redis goes away while the daemon runs without a spool: clients get a clear retryable answer
 * (503 with Retry-After, gRPC UNAVAILABLE with RetryInfo), the daemon stays up, and it recovers
 * by itself when Redis is back. (With the spool the data is accepted and exported later; see
 * test/faults.)
 */
let s3: TestS3;
let redis: RedisServerProcess;
let daemon: TestDaemon;

beforeAll(async () => {
  s3 = await startS3();
  redis = new RedisServerProcess(await freePort());
  await redis.start();
  daemon = await startDaemon(`
receivers:
  otlp:
    grpc: { endpoint: 127.0.0.1:0 }
    http: { endpoint: 127.0.0.1:0 }
processors:
  validate: {}
  auth:
    keys: [{ public_key: ${TEST_KEYS.publicKey}, secret_key: ${TEST_KEYS.secretKey}, project_id: ${TEST_KEYS.projectId} }]
exporters:
  s3:
    bucket: langfuse
    endpoint: ${s3.endpoint}
    force_path_style: true
    access_key_id: S3RVER
    secret_access_key: S3RVER
  bullmq:
    redis: { url: "${redis.url}", connect_timeout: 1s }
    retry_after: 3s
service:
  telemetry: { health: { endpoint: 127.0.0.1:0 }, metrics: { endpoint: 127.0.0.1:0 } }
  spool: { enabled: false }
  pipelines:
    events: { receivers: [otlp], processors: [validate, auth], exporters: [s3, bullmq] }
`);
});

afterAll(async () => {
  await daemon?.stop();
  await redis?.stop();
  await s3?.stop();
});

function post(traceId: string) {
  return fetch(`${daemon.url("otlp")}/v1/traces`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: basicAuth() },
    body: toJson(resourceSpans([span({ traceId })])),
  });
}

function exportTrace(traceId: string): Promise<GrpcExportResult> {
  return exportOverGrpc(daemon.url("otlp", "grpc"), toProtobuf(resourceSpans([span({ traceId })])), { authorization: basicAuth() });
}

describe("Redis outage", () => {
  it("answers retryably while Redis is down and recovers when it is back", async () => {
    expect((await post("00000000000000000000000000000a01")).status).toBe(200);

    const ready = () => fetch(`http://${daemon.service.health.address()}/readyz`);
    expect((await ready()).status).toBe(200);
    await redis.stop();
    const down = await post("00000000000000000000000000000a02");
    // Without a spool, an unreachable backend makes the daemon not ready.
    const notReady = await ready();
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ status: "not ready", reason: "events: bullmq: Redis is not reachable" });
    expect(down.status).toBe(503);
    expect(down.headers.get("retry-after")).toBe("3");
    expect(await down.json()).toMatchObject({ code: 14, message: expect.stringContaining("Redis") });

    const grpcDown = await exportTrace("00000000000000000000000000000a03");
    expect(grpcDown.code).toBe(grpcStatus.UNAVAILABLE);
    const details = grpcDown.metadata!.get("grpc-status-details-bin")[0] as Buffer;
    const decoded = RpcStatus.toObject(RpcStatus.decode(details), { longs: Number }) as { code: number; details: Array<{ typeUrl: string; value: Uint8Array }> };
    expect(decoded.code).toBe(14);
    expect(decoded.details[0]!.typeUrl).toBe("type.googleapis.com/google.rpc.RetryInfo");
    expect(RetryInfo.toObject(RetryInfo.decode(decoded.details[0]!.value), { longs: Number })).toEqual({ retryDelay: { seconds: 3 } });

    await redis.start();
    // The daemon reconnects on its own; poll with real requests until one is accepted.
    await waitFor(async () => (await post("00000000000000000000000000000a04")).status === 200, 20_000, "the daemon to accept data again");
    expect((await exportTrace("00000000000000000000000000000a05")).code).toBe(grpcStatus.OK);
    expect((await ready()).status).toBe(200);
    expect(await s3.listKeys(`${TEST_KEYS.projectId}/trace/00000000000000000000000000000a05/`)).toHaveLength(1);
  });
});
