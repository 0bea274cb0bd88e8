/**
 * In-process floors, measured in the same run as the scenarios: what the daemon's building blocks
 * cost on their own, so the end-to-end numbers can be read against them.
 *
 *   decode     the project's decodeProtobufTraceRequest, and plain protobufjs decode, on the
 *              scenarios' protobuf payload
 *   convert    decode + the project's OTel → Langfuse conversion (no validation, no export)
 *   S3 PUT     CPU per PUT of the daemon's own S3 exporter vs. a plain @aws-sdk/client-s3
 *              PutObject, both against the sink (in a child process, so its CPU is not counted)
 *   Azure PUT  the same for azure_blob (Put Blob with Shared Key over the shared undici pool) vs.
 *              @azure/storage-blob's BlockBlobClient.upload as is, against the same sink
 *   BullMQ     CPU per job of Queue.addBulk in chunks of 100 on the local Redis
 */
import "./quiet-sdk.js";
import { randomUUID } from "node:crypto";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { pino } from "pino";
import { convertResourceSpans } from "../src/conversion/convert.js";
import { ingestionJobData } from "../src/exporters/bullmq/factory.js";
import { azureBlobConfigSchema, azureBlobExporterFactory } from "../src/exporters/azure/factory.js";
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_ACCOUNT_KEY } from "../src/exporters/azure/connection-string.js";
import { s3ConfigSchema, s3ExporterFactory } from "../src/exporters/s3/factory.js";
import { decodeProtobufTraceRequest } from "../src/otlp/codec.js";
import { transcodeTraceRequest } from "../src/otlp/protobuf-json.js";
import { ExportTraceServiceRequest } from "../src/otlp/schema.js";
import { parseComponentId, type Exporter } from "../src/pipeline/component.js";
import { metrics } from "../src/telemetry/metrics.js";
import { ExportGroup, type ExportRequest } from "../src/pipeline/export.js";
import { HELPER_CPU, PROJECT_ID, PUBLIC_KEY } from "./daemon.js";
import { buildTemplates, freshRequest, SPANS_PER_REQUEST } from "./payload.js";
import { onCleanup, startWorker } from "./procs.js";
import { BenchRedis, uniquePrefix } from "./redis.js";
import { settings } from "./settings.js";
import type { SinkStats } from "./sink.js";

export interface Floor {
  name: string;
  /** e.g. "412,000 spans/s" */
  throughput: string;
  /** CPU per unit, µs. */
  cpuMicros: number;
  unit: "span" | "PUT" | "job";
  note: string;
}

function cpuNow(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/**
 * Runs `work` for `ms` in 5 rounds after a short warm-up and keeps the fastest round: a floor is
 * the least the code costs, and the slower rounds measured this VM's noise (GC of earlier
 * phases, steal time) rather than the code.
 */
function timed(ms: number, work: () => void): { perSecond: number; cpuMicros: number } {
  const warmUntil = performance.now() + Math.min(500, ms / 4);
  while (performance.now() < warmUntil) work();
  let best = { perSecond: 0, cpuMicros: Number.POSITIVE_INFINITY };
  for (let round = 0; round < 5; round += 1) {
    let calls = 0;
    const cpuStart = cpuNow();
    const start = performance.now();
    const end = start + ms / 5;
    while (performance.now() < end) {
      work();
      calls += 1;
    }
    const perSecond = (calls * 1000) / (performance.now() - start);
    if (perSecond > best.perSecond) best = { perSecond, cpuMicros: (cpuNow() - cpuStart) / calls };
  }
  return best;
}

const spansPerSecond = (perSecond: number) => `${Math.round(perSecond * SPANS_PER_REQUEST).toLocaleString("en-US")} spans/s`;

function decodeFloors(body: Buffer): Floor[] {
  const project = timed(settings.floorMs, () => decodeProtobufTraceRequest(body));
  const plain = timed(settings.floorMs, () => ExportTraceServiceRequest.decode(body));
  const convert = timed(settings.floorMs, () => convertResourceSpans(decodeProtobufTraceRequest(body)));
  const transcode = timed(settings.floorMs, () => transcodeTraceRequest(body));
  const viaObjects = timed(settings.floorMs, () => Buffer.from(JSON.stringify(decodeProtobufTraceRequest(body)), "utf8"));
  return [
    { name: "floor: decode, project (decodeProtobufTraceRequest)", throughput: spansPerSecond(project.perSecond), cpuMicros: project.cpuMicros / SPANS_PER_REQUEST, unit: "span", note: "protobufjs decode + ids to hex, 64-bit to strings; one core, best of 5 rounds" },
    { name: "floor: decode, plain protobufjs", throughput: spansPerSecond(plain.perSecond), cpuMicros: plain.cpuMicros / SPANS_PER_REQUEST, unit: "span", note: "ExportTraceServiceRequest.decode only" },
    { name: "floor: decode + convert (project)", throughput: spansPerSecond(convert.perSecond), cpuMicros: convert.cpuMicros / SPANS_PER_REQUEST, unit: "span", note: "+ convertResourceSpans; no validate/auth/group/spool/export" },
    { name: "floor: raw path, protobuf → stored JSON (transcoder)", throughput: spansPerSecond(transcode.perSecond), cpuMicros: transcode.cpuMicros / SPANS_PER_REQUEST, unit: "span", note: "transcodeTraceRequest: what the raw path does per request before the spool" },
    { name: "floor: raw path, protobuf → stored JSON via objects", throughput: spansPerSecond(viaObjects.perSecond), cpuMicros: viaObjects.cpuMicros / SPANS_PER_REQUEST, unit: "span", note: "decode + JSON.stringify + UTF-8: the object path the transcoder replaces" },
  ];
}

/** An observation-sized object body (~4 KB of JSON, the size of the scenarios' objects). */
function groupBody(index: number): Buffer {
  return Buffer.from(JSON.stringify([{ id: randomUUID(), type: "generation-create", timestamp: new Date().toISOString(), body: { id: `obs-${index}`, input: "x".repeat(1800), output: "y".repeat(1800), metadata: { n: index } } }]));
}

/**
 * CPU µs per PUT and PUTs per second of `run(count)`, after 2,000 PUTs to open the connections and
 * let the JIT settle (the first few hundred cost three to four times as much).
 */
async function measurePuts(total: number, run: (count: number) => Promise<void>): Promise<{ cpuMicros: number; perSecond: number }> {
  await run(2000);
  const cpuStart = cpuNow();
  const start = performance.now();
  await run(total);
  const elapsed = performance.now() - start;
  return { cpuMicros: (cpuNow() - cpuStart) / total, perSecond: (total * 1000) / elapsed };
}

/** Runs `count` PUTs, 100 at a time in parallel (the size of one request's observations). */
async function inHundreds(count: number, hundred: (size: number) => Promise<void>): Promise<void> {
  for (let done = 0; done < count; done += 100) await hundred(Math.min(100, count - done));
}

const FLOOR_CONTEXT: ExportRequest["context"] = {
  receiver: "otlp",
  transport: "http",
  source: "otel",
  authorization: undefined,
  sdkName: "unknown",
  sdkVersion: "unknown",
  ingestionVersion: "",
  scope: { projectId: PROJECT_ID, accessLevel: "project", publicKey: PUBLIC_KEY },
};

const putRate = (value: number) => `${Math.round(value).toLocaleString("en-US")} PUT/s`;

/** CPU per PUT of a blob exporter's exportGroups, 100 groups per call, against the sink; and the connections it opened. */
async function exporterPuts(exporter: Exporter, bodies: readonly Buffer[], connections: () => Promise<number>) {
  await exporter.start();
  const before = await connections();
  const measured = await measurePuts(settings.floorPuts, (count) =>
    inHundreds(count, async (size) => {
      const groups = bodies.slice(0, size).map((body) => new ExportGroup("observation", `obs-${randomUUID()}`, randomUUID(), "generation-create", body));
      const failures = await exporter.exportGroups({ context: FLOOR_CONTEXT, groups });
      if (failures.length > 0) throw failures[0]!.error;
    }),
  );
  await exporter.shutdown();
  return { ...measured, connections: (await connections()) - before };
}

export async function s3Floors(): Promise<Floor[]> {
  const sink = await startWorker("sink.ts", ["sink"], HELPER_CPU);
  const stopSink = onCleanup("stop the floor sink", () => sink.stop());
  try {
    const endpoint = `http://127.0.0.1:${sink.ready.port as number}`;
    const bodies = Array.from({ length: 100 }, (_, index) => groupBody(index));

    // The daemon's exporter, configured as the daemon does it (keep-alive connection pool, 64 connections, no CRC32).
    const config = s3ConfigSchema.parse({ bucket: "langfuse", prefix: "events/", endpoint, force_path_style: true, access_key_id: "S3RVER", secret_access_key: "S3RVER" });
    const connections = async () => (await sink.ask<SinkStats>({ cmd: "stats" })).connections;
    const own = await exporterPuts(s3ExporterFactory.create({ id: parseComponentId("s3")!, logger: pino({ level: "silent" }), metrics }, config), bodies, connections);

    // A plain client with the SDK's defaults (its own keep-alive handler; CRC32 checksums on), and
    // the same without CRC32, as the daemon sends by default (checksum: when_required).
    const plainClient = async (checksum: "WHEN_SUPPORTED" | "WHEN_REQUIRED") => {
      const client = new S3Client({
        endpoint,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
        requestChecksumCalculation: checksum,
        responseChecksumValidation: checksum,
      });
      const connectionsBefore = await connections();
      const measured = await measurePuts(settings.floorPuts, (count) =>
        inHundreds(count, async (size) => {
          await Promise.all(
            bodies.slice(0, size).map((body) =>
              client.send(new PutObjectCommand({ Bucket: "langfuse", Key: `events/${PROJECT_ID}/observation/${randomUUID()}/${randomUUID()}.json`, Body: body, ContentType: "application/json" })),
            ),
          );
        }),
      );
      client.destroy();
      return { ...measured, connections: (await connections()) - connectionsBefore };
    };
    const plain = await plainClient("WHEN_SUPPORTED");
    const plainNoCrc = await plainClient("WHEN_REQUIRED");
    return [
      { name: "floor: S3 PUT, daemon's S3 exporter → sink", throughput: putRate(own.perSecond), cpuMicros: own.cpuMicros, unit: "PUT", note: `exportGroups with 100 groups per call, ${settings.floorPuts} PUTs of ~4 KB after 2,000 warm-up PUTs, ${own.connections} connections; client CPU only` },
      { name: "floor: S3 PUT, plain @aws-sdk/client-s3 → sink", throughput: putRate(plain.perSecond), cpuMicros: plain.cpuMicros, unit: "PUT", note: `PutObject with the SDK's defaults (CRC32 on), 100 in parallel, ${settings.floorPuts} PUTs, ${plain.connections} connections` },
      { name: "floor: S3 PUT, plain @aws-sdk/client-s3, no CRC32 → sink", throughput: putRate(plainNoCrc.perSecond), cpuMicros: plainNoCrc.cpuMicros, unit: "PUT", note: `as above with requestChecksumCalculation WHEN_REQUIRED (the daemon's default), ${plainNoCrc.connections} connections` },
    ];
  } finally {
    await stopSink();
  }
}

/**
 * Azure Put Blob, measured like the S3 PUT: the daemon's azure_blob exporter (Shared Key signer,
 * the shared undici pool) against @azure/storage-blob's BlockBlobClient.upload as is (its default
 * pipeline, keep-alive agent and retry policy; nothing is retried against the sink).
 */
export async function azureFloors(): Promise<Floor[]> {
  const sink = await startWorker("sink.ts", ["sink"], HELPER_CPU);
  const stopSink = onCleanup("stop the floor sink", () => sink.stop());
  try {
    const endpoint = `http://127.0.0.1:${sink.ready.port as number}/${DEVELOPMENT_ACCOUNT}`;
    const bodies = Array.from({ length: 100 }, (_, index) => groupBody(index));
    const connections = async () => (await sink.ask<SinkStats>({ cmd: "stats" })).connections;
    const config = azureBlobConfigSchema.parse({ container: "langfuse", prefix: "events/", endpoint, account_name: DEVELOPMENT_ACCOUNT, account_key: DEVELOPMENT_ACCOUNT_KEY });
    const own = await exporterPuts(azureBlobExporterFactory.create({ id: parseComponentId("azure_blob")!, logger: pino({ level: "silent" }), metrics }, config), bodies, connections);

    const container = new BlobServiceClient(endpoint, new StorageSharedKeyCredential(DEVELOPMENT_ACCOUNT, DEVELOPMENT_ACCOUNT_KEY)).getContainerClient("langfuse");
    const connectionsBefore = await connections();
    const sdk = await measurePuts(settings.floorPuts, (count) =>
      inHundreds(count, async (size) => {
        await Promise.all(
          bodies.slice(0, size).map((body) =>
            container.getBlockBlobClient(`events/${PROJECT_ID}/observation/${randomUUID()}/${randomUUID()}.json`).upload(body, body.length, { blobHTTPHeaders: { blobContentType: "application/json" } }),
          ),
        );
      }),
    );
    const sdkConnections = (await connections()) - connectionsBefore;
    return [
      { name: "floor: Azure PUT, daemon's azure_blob exporter → sink", throughput: putRate(own.perSecond), cpuMicros: own.cpuMicros, unit: "PUT", note: `Put Blob with Shared Key; exportGroups with 100 groups per call, ${settings.floorPuts} PUTs of ~4 KB after 2,000 warm-up PUTs, ${own.connections} connections; client CPU only` },
      { name: "floor: Azure PUT, plain @azure/storage-blob → sink", throughput: putRate(sdk.perSecond), cpuMicros: sdk.cpuMicros, unit: "PUT", note: `BlockBlobClient.upload with the SDK's defaults, 100 in parallel, ${settings.floorPuts} PUTs, ${sdkConnections} connections` },
    ];
  } finally {
    await stopSink();
  }
}

async function bullmqFloor(): Promise<Floor> {
  const keyPrefix = uniquePrefix("floor");
  const admin = new BenchRedis(settings.redisUrl);
  await admin.connect();
  const forget = onCleanup(`delete Redis keys ${keyPrefix}*`, async () => {
    await admin.deletePrefix(keyPrefix);
    await admin.close();
  });
  const connection = new Redis(settings.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue("ingestion-queue", {
    connection,
    prefix: keyPrefix,
    defaultJobOptions: { removeOnComplete: true, removeOnFail: 100_000, attempts: 6, backoff: { type: "exponential", delay: 5000 } },
  });
  try {
    const chunk = () =>
      Array.from({ length: 100 }, () => {
        const group = new ExportGroup("observation", randomUUID().replaceAll("-", "").slice(0, 16), randomUUID(), "generation-create", Buffer.alloc(0));
        group.blob = { bucketPrefix: `events/${PROJECT_ID}/observation/${group.eventBodyId}/`, fileKey: group.firstEventId };
        return { name: "ingestion-job", data: ingestionJobData({ context: FLOOR_CONTEXT, groups: [group] }, group, new Set(), new Date()), opts: { delay: 0 } };
      });
    for (let index = 0; index < 20; index += 1) await queue.addBulk(chunk()); // 2,000 jobs: JIT and scripts loaded
    const cpuStart = cpuNow();
    const start = performance.now();
    for (let done = 0; done < settings.floorJobs; done += 100) await queue.addBulk(chunk());
    const elapsed = performance.now() - start;
    const cpuMicros = (cpuNow() - cpuStart) / settings.floorJobs;
    return {
      name: "floor: BullMQ Queue.addBulk (chunks of 100)",
      throughput: `${Math.round((settings.floorJobs * 1000) / elapsed).toLocaleString("en-US")} jobs/s`,
      cpuMicros,
      unit: "job",
      note: `${settings.floorJobs} jobs with the daemon's job data and options; client CPU only (job data built inside the timing)`,
    };
  } finally {
    await queue.close();
    connection.disconnect();
    await forget();
  }
}

export async function runFloors(log: (line: string) => void): Promise<Floor[]> {
  const { body } = freshRequest(buildTemplates().protobuf);
  const floors: Floor[] = [];
  log("floors: decode");
  floors.push(...decodeFloors(body));
  log("floors: S3 PUT");
  floors.push(...(await s3Floors()));
  log("floors: Azure PUT");
  floors.push(...(await azureFloors()));
  log("floors: BullMQ");
  floors.push(await bullmqFloor());
  return floors;
}
