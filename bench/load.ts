/**
 * Child process: the load generator. Builds the payload once, then on the parent's command runs
 *
 *   closed  N connections, each sending its next request as soon as the last one was answered,
 *           for a fixed time (then waits for the requests in flight);
 *   open    requests started on a fixed schedule (rate per second), whatever the answers do;
 *           latency counts from the scheduled start, so a stalled daemon cannot hide its queue
 *           (no coordinated omission).
 *
 * Every request carries fresh trace and span ids. Only 200 (gRPC OK) without a partial_success
 * counts as acknowledged; anything else is counted by status and retried after 20 ms.
 *
 * The closed loop has a gate the parent opens and closes (`{cmd: "gate"}`) from the export
 * backlog it observes; `{cmd: "progress"}` reports the acknowledgements so far.
 */
import { Client, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { Agent, request as httpRequest } from "node:http";
import { setPriority } from "node:os";
import { buildTemplates, freshRequest, SPANS_PER_REQUEST, type PayloadVariant, type Template, type WireFormat } from "./payload.js";
import { serveParent, sleep, wallMs } from "./procs.js";
import type { Encoding } from "./settings.js";

export interface LoadTarget {
  encoding: Encoding;
  httpPort: number;
  grpcPort: number;
  authorization: string;
  /** Each trace's spans in two consecutive requests of one connection (freshRequest's `continuing`). */
  splitTraces?: boolean;
  /** The redact and filter runs' request (payload.ts); the plain one when absent. */
  variant?: PayloadVariant;
}

export interface LoadResult {
  mode: "closed" | "open";
  requests: number;
  /** Requests answered 200 / OK with no rejected spans. */
  ok: number;
  spans: number;
  /** Non-OK answers and transport errors, by status. */
  failures: Record<string, number>;
  /** Answers carrying a partial_success (rejected spans). */
  partial: number;
  startedAt: number;
  endedAt: number;
  /** Per acknowledged request: closed loop from send, open loop from the scheduled start. */
  latenciesMs: number[];
  /** Closed loop: time the lanes were held back because the exports were behind. */
  pausedMs: number;
  /** Open loop: how many sends started more than 5 ms after their scheduled time. */
  lateStarts: number;
  cpuMicros: number;
  requestBytes: number;
}

interface Answer {
  ok: boolean;
  status: string;
  partial: boolean;
}

interface Sender {
  send(body: Buffer, lane: number): Promise<Answer>;
  close(): void;
}

const GRPC_PATH = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const passthrough = (buffer: Buffer) => buffer;

function httpSender(target: LoadTarget, maxSockets: number): Sender {
  const agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  const json = target.encoding === "http-json";
  const contentType = json ? "application/json" : "application/x-protobuf";
  return {
    send: (body) =>
      new Promise<Answer>((resolve) => {
        const request = httpRequest(
          {
            agent,
            host: "127.0.0.1",
            port: target.httpPort,
            path: "/v1/traces",
            method: "POST",
            headers: { "content-type": contentType, "content-length": String(body.length), authorization: target.authorization },
          },
          (response) => {
            const chunks: Buffer[] = [];
            response.on("data", (chunk: Buffer) => chunks.push(chunk));
            response.on("end", () => {
              const status = response.statusCode ?? 0;
              const answer = Buffer.concat(chunks);
              // Success bodies are an empty ExportTraceServiceResponse ("" or "{}"); anything more is a partial success.
              const partial = status === 200 && (json ? answer.toString() !== "{}" : answer.length > 0);
              resolve({ ok: status === 200 && !partial, status: `http ${status}`, partial });
            });
            response.on("error", (error) => resolve({ ok: false, status: `error ${error.message}`, partial: false }));
          },
        );
        request.on("error", (error: NodeJS.ErrnoException) => resolve({ ok: false, status: `error ${error.code ?? error.message}`, partial: false }));
        request.end(body);
      }),
    close: () => agent.destroy(),
  };
}

function grpcSender(target: LoadTarget, connections: number): Sender {
  // One client per lane, each with its own subchannel pool: N real HTTP/2 connections.
  const clients = Array.from(
    { length: connections },
    () =>
      new Client(`127.0.0.1:${target.grpcPort}`, credentials.createInsecure(), {
        "grpc.use_local_subchannel_pool": 1,
        "grpc.max_send_message_length": 64 * 1024 * 1024,
        "grpc.max_receive_message_length": 64 * 1024 * 1024,
      }),
  );
  const metadata = new Metadata();
  metadata.set("authorization", target.authorization);
  return {
    send: (body, lane) =>
      new Promise<Answer>((resolve) => {
        clients[lane % clients.length]!.makeUnaryRequest(GRPC_PATH, passthrough, passthrough, body, metadata, (error: ServiceError | null, answer?: Buffer) => {
          if (error) resolve({ ok: false, status: `grpc ${error.code}`, partial: false });
          else {
            const partial = (answer?.length ?? 0) > 0;
            resolve({ ok: !partial, status: "grpc 0", partial });
          }
        });
      }),
    close: () => {
      for (const client of clients) client.close();
    },
  };
}

/** Closed-loop lanes wait here while the parent says the exports are too far behind. */
class Gate {
  #open = true;
  #waiters: Array<() => void> = [];
  closedMs = 0;
  #closedAt = 0;

  set(open: boolean): void {
    if (open === this.#open) return;
    this.#open = open;
    if (open) {
      this.closedMs += wallMs() - this.#closedAt;
      for (const wake of this.#waiters.splice(0)) wake();
    } else this.#closedAt = wallMs();
  }

  /** Resolves when the gate is open, or at `deadline` (wall ms). */
  async pass(deadline: number): Promise<void> {
    if (this.#open) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, deadline - wallMs()));
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  reset(): void {
    this.set(true);
    this.closedMs = 0;
  }
}

const gate = new Gate();
let current: LoadResult | undefined;

const templates = buildTemplates();
/** Variants of the request, built the first time a run asks for one. */
const variants = new Map<string, Record<WireFormat, Template>>();

function templateFor(encoding: Encoding, variant?: PayloadVariant): Template {
  let set = templates;
  if (variant !== undefined && (variant.streamNames || variant.email)) {
    const key = JSON.stringify({ streamNames: variant.streamNames === true, email: variant.email === true });
    set = variants.get(key) ?? variants.set(key, buildTemplates(undefined, variant)).get(key)!;
  }
  return encoding === "http-json" ? set.json : set.protobuf;
}

function newResult(mode: LoadResult["mode"], target: LoadTarget): LoadResult {
  return {
    mode,
    requests: 0,
    ok: 0,
    spans: 0,
    failures: {},
    partial: 0,
    startedAt: wallMs(),
    endedAt: 0,
    latenciesMs: [],
    pausedMs: 0,
    lateStarts: 0,
    cpuMicros: 0,
    requestBytes: templateFor(target.encoding, target.variant).body.length,
  };
}

function record(result: LoadResult, answer: Answer, latencyMs: number): void {
  result.requests += 1;
  if (answer.partial) result.partial += 1;
  if (answer.ok) {
    result.ok += 1;
    result.spans += SPANS_PER_REQUEST;
    result.latenciesMs.push(latencyMs);
  } else if (!answer.partial) {
    result.failures[answer.status] = (result.failures[answer.status] ?? 0) + 1;
  }
}

async function closedLoop(target: LoadTarget, concurrency: number, durationMs: number): Promise<LoadResult> {
  const sender = target.encoding === "grpc" ? grpcSender(target, concurrency) : httpSender(target, concurrency);
  const template = templateFor(target.encoding, target.variant);
  const cpuBefore = process.cpuUsage();
  const result = newResult("closed", target);
  current = result;
  gate.reset();
  const deadline = result.startedAt + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, lane) => {
      let previous: Buffer | undefined;
      while (wallMs() < deadline) {
        await gate.pass(deadline);
        if (wallMs() >= deadline) break;
        const { body, ids } = freshRequest(template, target.splitTraces ? previous : undefined);
        previous = ids;
        const sentAt = wallMs();
        const answer = await sender.send(body, lane);
        record(result, answer, wallMs() - sentAt);
        if (!answer.ok) await sleep(20);
      }
    }),
  );
  gate.set(true);
  result.endedAt = wallMs();
  result.pausedMs = gate.closedMs;
  current = undefined;
  const cpu = process.cpuUsage(cpuBefore);
  result.cpuMicros = cpu.user + cpu.system;
  sender.close();
  return result;
}

async function openLoop(target: LoadTarget, requestsPerSecond: number, durationMs: number, connections: number): Promise<LoadResult> {
  const sender = target.encoding === "grpc" ? grpcSender(target, connections) : httpSender(target, 64);
  const template = templateFor(target.encoding, target.variant);
  const cpuBefore = process.cpuUsage();
  const result = newResult("open", target);
  const intervalMs = 1000 / requestsPerSecond;
  const count = Math.max(1, Math.floor((durationMs / 1000) * requestsPerSecond));
  const inFlight: Array<Promise<void>> = [];
  let previous: Buffer | undefined;
  for (let index = 0; index < count; index += 1) {
    const due = result.startedAt + index * intervalMs;
    const wait = due - wallMs();
    if (wait > 0) await sleep(wait);
    if (wallMs() - due > 5) result.lateStarts += 1;
    const { body, ids } = freshRequest(template, target.splitTraces ? previous : undefined);
    previous = ids;
    inFlight.push(sender.send(body, index).then((answer) => record(result, answer, wallMs() - due)));
  }
  await Promise.all(inFlight);
  result.endedAt = wallMs();
  const cpu = process.cpuUsage(cpuBefore);
  result.cpuMicros = cpu.user + cpu.system;
  sender.close();
  return result;
}

// The load generator shares its core with the S3 target: ahead of it in the scheduler, its sends
// stay on schedule instead of bunching up (which the daemon would see as bursts). Needs root;
// without, the default priority stays and late sends are counted in the report.
try {
  setPriority(-10);
} catch {
  // not permitted: keep the default
}

serveParent(async (message) => {
  if (message.cmd === "gate") {
    gate.set(message.open as boolean);
    return null;
  }
  if (message.cmd === "progress") return { ok: current?.ok ?? 0 };
  const target = message.target as LoadTarget;
  if (message.cmd === "closed") return closedLoop(target, message.concurrency as number, message.durationMs as number);
  if (message.cmd === "open") return openLoop(target, message.requestsPerSecond as number, message.durationMs as number, message.connections as number);
  throw new Error(`unknown command ${String(message.cmd)}`);
}, { protobufBytes: templates.protobuf.body.length, jsonBytes: templates.json.body.length });
