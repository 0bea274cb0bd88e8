import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basicAuth } from "../support/daemon.js";
import { resourceSpans, span, toJson } from "../support/otlp.js";
import { startStack, type TestStack } from "../support/stack.js";

/** The Prometheus endpoint counts what happened, with bounded labels. */
let stack: TestStack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.stop();
});

function value(text: string, name: string, labels: Record<string, string>): number {
  const line = text
    .split("\n")
    .find((candidate) => candidate.startsWith(`${name}{`) && Object.entries(labels).every(([key, item]) => candidate.includes(`${key}="${item}"`)));
  return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("GET /metrics", () => {
  it("counts requests, items, processor drops by reason, exported groups, spool state and Langfuse's counters", async () => {
    // One root span (trace-create + span-create) and one child whose generation fails the schema.
    const traceId = "0000000000000000000000000000e7e1";
    const invalid = span({ traceId, spanId: "3333333333333333", parentSpanId: "1111111111111111", attributes: { "langfuse.observation.type": "generation", "langfuse.observation.prompt.name": "p", "langfuse.observation.prompt.version": "x" } });
    const response = await fetch(`${stack.daemon.url("otlp")}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: basicAuth() },
      body: toJson(resourceSpans([span({ traceId, spanId: "1111111111111111" }), invalid])),
    });
    expect(response.status).toBe(200);
    await fetch(`${stack.daemon.url("otlp")}/v1/traces`, { method: "POST", headers: { "content-type": "application/json" }, body: toJson(resourceSpans([span()])) });
    await stack.exported();

    const scrape = await fetch(`http://${stack.daemon.service.metricsServer!.address()}/metrics`);
    expect(scrape.status).toBe(200);
    const text = await scrape.text();
    const prefix = "langfuse_otel_receiver_";
    expect(value(text, `${prefix}receiver_requests_total`, { receiver: "otlp", transport: "http", outcome: "accepted" })).toBe(1);
    expect(value(text, `${prefix}receiver_requests_total`, { receiver: "otlp", transport: "http", outcome: "refused" })).toBe(1);
    expect(value(text, `${prefix}receiver_items_total`, { receiver: "otlp", item: "spans", outcome: "accepted" })).toBe(1);
    expect(value(text, `${prefix}receiver_items_total`, { receiver: "otlp", item: "spans", outcome: "rejected" })).toBe(1);
    expect(value(text, `${prefix}processor_events_total`, { processor: "validate", outcome: "dropped", reason: "validation" })).toBe(1);
    expect(value(text, `${prefix}processor_events_total`, { processor: "group", outcome: "passed" })).toBe(2);
    expect(value(text, `${prefix}exporter_groups_total`, { exporter: "s3", outcome: "exported" })).toBe(2);
    expect(value(text, `${prefix}exporter_groups_total`, { exporter: "bullmq", outcome: "exported" })).toBe(2);
    expect(value(text, `${prefix}langfuse_ingestion_event_total`, { source: "otel" })).toBe(3);
    expect(text).toContain(`${prefix}spool_pending_bytes{pipeline="events"}`);
    expect(text).toContain(`${prefix}request_duration_seconds_bucket{`);
    expect(text).toContain(`${prefix}process_cpu_user_seconds_total`);
    // Labels stay bounded: no trace, span or key ids.
    expect(text).not.toContain(traceId);
    expect(text).not.toContain("pk-lf-test");
  });
});
