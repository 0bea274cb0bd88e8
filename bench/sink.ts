/**
 * Child process: the S3 endpoint the daemon exports to, counting the objects it receives.
 *
 *   sink    a minimal S3-protocol server (node:http, keep-alive): reads the body, answers 200
 *           (201 to an Azure Put Blob) with an ETag at once. Shows what the daemon costs when
 *           the store costs nothing.
 *   s3rver  s3rver 3.7.1 with bucket `langfuse`, storing its objects in a tmpfs folder (/dev/shm
 *           when it exists): s3rver stands in for S3, and on this VM's ext4 each object's mkdir and
 *           two file creations cost ~1.5 ms of kernel time at random, which would measure the disk
 *           rather than the daemon.
 *
 * Answers `{cmd: "stats"}` with the PUT count, body bytes, the time of the last PUT and its own
 * CPU time, so the parent can tell when the exports have caught up.
 */
import type { EventEmitter } from "node:events";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "s3rver";
import { serveParent, wallMs } from "./procs.js";

export interface SinkStats {
  puts: number;
  bytes: number;
  /** Wall-clock ms of the latest PUT, 0 before the first. */
  lastPutAt: number;
  /** TCP connections accepted (keep-alive reuse shows as few). */
  connections: number;
  /** This process's CPU time, µs. */
  cpuMicros: number;
}

const stats: SinkStats = { puts: 0, bytes: 0, lastPutAt: 0, connections: 0, cpuMicros: 0 };

function countPut(bytes: number): void {
  stats.puts += 1;
  stats.bytes += bytes;
  stats.lastPutAt = wallMs();
}

async function startSink(): Promise<{ port: number; close: () => Promise<void> }> {
  let etag = 0;
  const server = createServer({ keepAlive: true, keepAliveTimeout: 60_000, requestTimeout: 0 }, (request: IncomingMessage, response: ServerResponse) => {
    let bytes = 0;
    request.on("data", (chunk: Buffer) => (bytes += chunk.length));
    request.on("end", () => {
      if (request.method === "PUT") countPut(bytes);
      etag += 1;
      // Azure's Put Blob answers 201 (its SDK refuses a 200); S3's PutObject 200.
      response.writeHead(request.headers["x-ms-blob-type"] ? 201 : 200, {
        etag: `"${etag.toString(16).padStart(32, "0")}"`,
        "x-amz-request-id": "BENCHSINK",
        "content-length": "0",
      });
      response.end();
    });
  });
  server.on("connection", () => (stats.connections += 1));
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((done) => {
      server.closeAllConnections();
      server.close(() => done());
    }),
  };
}

async function startS3rver(): Promise<{ port: number; close: () => Promise<void> }> {
  const directory = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "lor-bench-s3rver-"));
  const server = new S3rver({ port: 0, address: "127.0.0.1", directory, silent: true, configureBuckets: [{ name: "langfuse", configs: [] }] });
  // s3rver is a Koa app (an EventEmitter) that emits S3 notifications; its typings omit that.
  (server as unknown as EventEmitter).on("event", (event: { Records: Array<{ eventName: string; s3: { object: { size?: number } } }> }) => {
    for (const record of event.Records) if (record.eventName === "ObjectCreated:Put") countPut(record.s3.object.size ?? 0);
  });
  const address = (await server.run()) as AddressInfo;
  (server as unknown as { httpServer?: EventEmitter }).httpServer?.on("connection", () => (stats.connections += 1));
  // Also when the parent disappears and this process exits without a clean close.
  process.on("exit", () => rmSync(directory, { recursive: true, force: true }));
  return {
    port: address.port,
    close: async () => {
      // Keep-alive connections from the daemon would hold close() open.
      (server as unknown as { httpServer?: { closeAllConnections(): void } }).httpServer?.closeAllConnections();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

const kind = process.argv[2];
if (kind !== "sink" && kind !== "s3rver") throw new Error(`usage: sink.ts sink|s3rver (got ${kind})`);
const target = kind === "sink" ? await startSink() : await startS3rver();

const shutdown = async () => {
  await target.close().catch(() => {});
  process.exit(0);
};
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);

serveParent(async (message) => {
  if (message.cmd === "stats") {
    const usage = process.cpuUsage();
    return { ...stats, cpuMicros: usage.user + usage.system } satisfies SinkStats;
  }
  throw new Error(`unknown command ${String(message.cmd)}`);
}, { port: target.port });
