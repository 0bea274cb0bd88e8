import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SpoolRecord } from "../../src/spool/record-codec.js";
import type { TracePayload, RequestContext } from "../../src/pipeline/payload.js";
import { basicAuth, startDaemon, TEST_KEYS, type TestDaemon } from "../support/daemon.js";
import { resourceSpans, span, toJson } from "../support/otlp.js";

/**
 * One large authenticated request must not starve the daemon (issue #18): while it is parsed,
 * converted, validated, grouped and stored (events pipeline) or parsed, checked and stored as
 * received (otel pipeline), health checks and small requests are answered. The daemon runs in
 * this process, so the test's own client work also only runs when the daemon gives the event loop
 * a turn: the probes below can finish before the large request is stored only if its handling
 * pauses. The order of events is the assertion; nothing is timed.
 */
const LARGE_SPANS = 50_000;
const PROCESSORS = { events: "[validate, auth, sort, group]", otel: "[validate, auth]" };

function largeExport(): Buffer {
  const spans = Array.from({ length: LARGE_SPANS }, (_, index) =>
    span({ traceId: index.toString(16).padStart(32, "0"), spanId: (index + 1).toString(16).padStart(16, "0"), name: `op-${index}`, attributes: { input: "x".repeat(100) } }),
  );
  return toJson(resourceSpans(spans));
}

describe.each(["events", "otel"] as const)("a large request in an %s pipeline", (pipelineType) => {
  let daemon: TestDaemon;

  beforeAll(async () => {
    const directory = mkdtempSync(join(tmpdir(), "lor-large-request-"));
    daemon = await startDaemon(`
receivers:
  otlp:
    http: { endpoint: 127.0.0.1:0, max_request_body_size: 64MiB }
processors:
  validate: {}
  auth:
    keys:
      - { public_key: ${TEST_KEYS.publicKey}, secret_key: ${TEST_KEYS.secretKey}, project_id: ${TEST_KEYS.projectId} }
  sort: {}
  group: {}
exporters:
  file: { directory: ${join(directory, "objects")}, fsync: false }
service:
  shutdown_timeout: 1s
  telemetry: { health: { endpoint: 127.0.0.1:0 }, metrics: { endpoint: 127.0.0.1:0 } }
  spool: { directory: ${join(directory, "spool")}, fsync: false }
  pipelines:
    ${pipelineType}:
      receivers: [otlp]
      processors: ${PROCESSORS[pipelineType]}
      exporters: [file]
`);
  });

  afterAll(() => daemon?.stop());

  function post(body: Buffer, sdkName: string): Promise<Response> {
    const headers = { "content-type": "application/json", authorization: basicAuth(), "x-langfuse-sdk-name": sdkName };
    return fetch(`${daemon.url("otlp")}/v1/traces`, { method: "POST", body, headers });
  }

  it("leaves health checks and small requests answered while it is handled, and lands whole", async () => {
    const pipeline = daemon.service.pipelines[0]!;
    const spool = pipeline.spool!;
    const events: string[] = [];
    const probes: Array<Promise<void>> = [];
    const health = `http://${daemon.service.health.address()}/livez`;

    // The probes start once the large request's handling has begun, and run one after another.
    const consume = pipeline.consume.bind(pipeline);
    pipeline.consume = async (payload: TracePayload, context: RequestContext) => {
      if (events.length === 0) {
        events.push("large: handling started");
        probes.push(
          (async () => {
            for (let check = 1; check <= 3; check += 1) {
              expect((await fetch(health)).status).toBe(200);
              events.push(`health check ${check} answered`);
            }
          })(),
          (async () => {
            expect((await post(toJson(resourceSpans([span()])), "small")).status).toBe(200);
            events.push("small request answered");
          })(),
        );
      }
      return consume(payload, context);
    };
    let stored = 0;
    const append = spool.append.bind(spool);
    spool.append = async (record: SpoolRecord) => {
      if (record.context.sdkName === "large") {
        stored = record.groups.reduce((total, group) => total + group.eventCount, 0);
        events.push("large: storing");
      }
      return append(record);
    };

    const answer = await post(largeExport(), "large");
    events.push("large: answered");
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({});
    await Promise.all(probes);

    const at = (event: string) => events.indexOf(event);
    expect(at("large: handling started")).toBe(0);
    for (const probe of ["health check 1 answered", "health check 2 answered", "health check 3 answered", "small request answered"]) {
      expect(at(probe), `${probe} in ${events.join(" → ")}`).toBeGreaterThan(0);
      expect(at(probe), `${probe} in ${events.join(" → ")}`).toBeLessThan(at("large: storing"));
    }
    expect(at("large: storing")).toBeLessThan(at("large: answered"));
    // Events: every span became a trace (a root) and an observation. Otel: the spans as sent.
    expect(stored).toBe(pipelineType === "events" ? 2 * LARGE_SPANS : LARGE_SPANS);
  });
});
