import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import type { ProcessorSettings } from "../../../src/pipeline/component.js";
import type { RequestContext } from "../../../src/pipeline/payload.js";
import { EventBatch } from "../../../src/pipeline/batch.js";
import { RetryableError } from "../../../src/pipeline/errors.js";
import { exportContext } from "../../support/export-groups.js";
import { SpanBatch } from "../../../src/pipeline/span-batch.js";
import { OtlpTraceRequest } from "../../../src/otlp/trace-request.js";
import { redactProcessorFactory } from "../../../src/processors/redact/factory.js";
import { metrics } from "../../../src/telemetry/metrics.js";
import { resourceSpans, span, toJson, toProtobuf } from "../../support/otlp.js";

/**
 * Langfuse's masking callback contract, against a real HTTP server playing the masking service:
 * what it is sent, what its answers do, and what happens when it fails.
 */
interface Call {
  headers: IncomingMessage["headers"];
  body: string;
}
let server: Server;
let url: string;
let calls: Call[];
/** Answers the next calls in turn; the last one repeats. */
let answers: Array<(call: Call, response: ServerResponse) => void>;

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const call = { headers: request.headers, body: Buffer.concat(chunks).toString("utf8") };
      calls.push(call);
      (answers[calls.length - 1] ?? answers.at(-1)!)(call, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mask`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  calls = [];
  answers = [maskEmails];
});

/** A masking service as Langfuse's docs describe one: same shape back, values changed. */
function maskEmails(call: Call, response: ServerResponse): void {
  response.writeHead(200, { "content-type": "application/json" });
  response.end(call.body.replace(/[a-z]+@example\.com/g, "[EMAIL]"));
}
const failWith = (status: number) => (_call: Call, response: ServerResponse) => {
  response.writeHead(status);
  response.end("service says no: ann@example.com");
};
const hang = () => {};

const settings: ProcessorSettings = { id: { type: "redact", name: undefined, text: "redact" }, logger: pino({ level: "silent" }), metrics, pipeline: "test" };
const callbackOnly = (callback: Record<string, unknown> = {}) =>
  redactProcessorFactory.create(settings, redactProcessorFactory.configSchema.parse({ detectors: [], masking_callback: { url, ...callback } }));
const context: RequestContext = exportContext({
  propagatedHeaders: { "x-tenant": "acme", "x-langfuse-project-id": "spoof" },
  scope: { projectId: "p1", orgId: "o1", accessLevel: "project", publicKey: "pk" },
});
const data = () => resourceSpans([span({ attributes: { "input.value": "write to ann@example.com" } })]);

describe("the masking callback", () => {
  it("gets the resourceSpans array Langfuse would store, with the project, org and propagated headers; its answer is stored", async () => {
    const batch = new SpanBatch(context, OtlpTraceRequest.fromProtobuf(toProtobuf(data())));
    const stored = new SpanBatch(context, OtlpTraceRequest.fromProtobuf(toProtobuf(data()))).serialise().toString("utf8");
    await callbackOnly().processSpans(batch);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.body).toBe(stored);
    expect(calls[0]!.headers).toMatchObject({ "content-type": "application/json", "x-langfuse-org-id": "o1", "x-langfuse-project-id": "p1", "x-tenant": "acme" });
    expect(batch.serialise().toString("utf8")).toBe(stored.replace("ann@example.com", "[EMAIL]"));
  });

  it("tries again after a failed attempt, and counts each attempt", async () => {
    answers = [failWith(500), maskEmails];
    const batch = new SpanBatch(context, OtlpTraceRequest.fromJson(toJson(data())));
    await callbackOnly({ max_retries: 1 }).processSpans(batch);
    expect(calls).toHaveLength(2);
    expect(batch.serialise().toString("utf8")).toContain("[EMAIL]");
  });

  it("fail-open: after every attempt failed (error, timeout, an answer that is not an array), the spans are stored as they came", async () => {
    for (const failure of [failWith(503), hang, (_call: Call, response: ServerResponse) => response.end('{"resourceSpans": []}')]) {
      calls = [];
      answers = [failure];
      const batch = new SpanBatch(context, OtlpTraceRequest.fromJson(toJson(data())));
      await callbackOnly({ max_retries: 2, timeout: "50ms" }).processSpans(batch);
      expect(calls).toHaveLength(3);
      expect(batch.serialise().toString("utf8")).toContain("ann@example.com");
    }
  });

  it("fail-closed: the request is refused as retryable, so the client sends it again", async () => {
    answers = [failWith(500)];
    const batch = new SpanBatch(context, OtlpTraceRequest.fromJson(toJson(data())));
    await expect(callbackOnly({ max_retries: 0, fail_closed: true }).processSpans(batch)).rejects.toBeInstanceOf(RetryableError);
    expect(calls).toHaveLength(1);
  });

  it("native ingestion events go as langfuse-sdk spans carrying input, output and metadata; the answer is written back", async () => {
    const events = [
      { id: "e1", type: "trace-create", timestamp: "2026-01-01T00:00:00Z", body: { id: "t1", input: { to: "ann@example.com" } } },
      { id: "e2", type: "span-create", timestamp: "2026-01-01T00:00:00Z", body: { id: "s1", traceId: "t1", output: "bob@example.com", metadata: { n: 1 } } },
      { id: "e3", type: "score-create", timestamp: "2026-01-01T00:00:00Z", body: { id: "sc1", traceId: "t1", name: "q", value: 1 } },
    ];
    const batch = new EventBatch({ ...context, source: "api" }, events.map((event, origin) => ({ event: structuredClone(event), origin })));
    await callbackOnly().process(batch);
    const sent = JSON.parse(calls[0]!.body) as Array<{ scopeSpans: Array<{ scope: unknown; spans: Array<{ attributes: unknown }> }> }>;
    expect(sent[0]!.scopeSpans[0]!.scope).toEqual({ name: "langfuse-sdk" });
    expect(sent[0]!.scopeSpans[0]!.spans.map((item) => item.attributes)).toEqual([
      [{ key: "langfuse.trace.input", value: { stringValue: '{"to":"ann@example.com"}' } }],
      [
        { key: "langfuse.observation.output", value: { stringValue: '"bob@example.com"' } },
        { key: "langfuse.observation.metadata", value: { stringValue: '{"n":1}' } },
      ],
    ]);
    const bodies = [...batch.records()].map(({ event }) => event.body);
    expect(bodies).toEqual([
      { id: "t1", input: { to: "[EMAIL]" } },
      { id: "s1", traceId: "t1", output: "[EMAIL]", metadata: { n: 1 } },
      { id: "sc1", traceId: "t1", name: "q", value: 1 },
    ]);
  });
});
