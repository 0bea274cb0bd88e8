import { readFileSync } from "node:fs";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateBucketCommand, DeleteBucketCommand } from "@aws-sdk/client-s3";
import { ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { LangfuseSpanProcessor } from "@langfuse/otel";
import { Langfuse } from "langfuse";
import { loadConfigText } from "../../src/config/load.js";
import { basicAuth, startDaemon, type TestDaemon } from "../support/daemon.js";
import { resourceSpans, span, toJson } from "../support/otlp.js";
import { startS3, type TestS3 } from "../support/s3.js";
import { testRedis, type TestRedis } from "../support/redis.js";
import { SECRETS } from "../unit/redact/secrets.js";

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, "../../dist/src/cli.js");

/**
 * The shipped config/examples/privacy.yaml with real clients: the OpenTelemetry SDK's protobuf
 * exporter (events path: converted here), Langfuse's v5 SDK (its /api/public/otel: the raw path)
 * and the legacy v3 SDK (native ingestion). The bucket does not exist at first, so everything the
 * daemon accepts is first spooled and then dead-lettered; once the bucket exists, the dead
 * letters are replayed. No secret may appear in any spool or dead-letter byte, S3 object, queue
 * job or metric.
 */
const EXAMPLE = resolve(import.meta.dirname, "../../config/examples/privacy.yaml");
const KEYS = { LANGFUSE_PUBLIC_KEY: "pk-lf-privacy", LANGFUSE_SECRET_KEY: "sk-lf-privacy", LANGFUSE_PROJECT_ID: "project-privacy" };
const BUCKET = "privacy-late";
/** One of each detector, a key rule's value and the example's own customer-id pattern. */
const LEAKS = [...Object.values(SECRETS).map((examples) => examples[0]!), "hunter2-password-value", "CUST-654321"];

let s3: TestS3;
let redis: TestRedis;
let daemon: TestDaemon;
let folder: string;
let configFile: string;
let env: Record<string, string>;
const logLines: string[] = [];

beforeAll(async () => {
  s3 = await startS3(BUCKET);
  await s3.client.send(new DeleteBucketCommand({ Bucket: BUCKET }));
  redis = testRedis();
  folder = await mkdtemp(join(tmpdir(), "lor-privacy-"));
  const yaml = readFileSync(EXAMPLE, "utf8")
    .replaceAll(/127\.0\.0\.1:(4317|4318|3000)/g, "127.0.0.1:0")
    .replace("url: ${env:REDIS_URL:-redis://127.0.0.1:6379}", `url: \${env:REDIS_URL:-redis://127.0.0.1:6379}\n      key_prefix: ${redis.keyPrefix}`)
    .replace("checksum: when_required", "checksum: when_required\n    max_attempts: 1")
    .replace("service:\n", `service:\n  telemetry: { health: { endpoint: 127.0.0.1:0 }, metrics: { endpoint: 127.0.0.1:0 } }\n  spool: { directory: ${join(folder, "spool")}, fsync: false }\n`)
    // The OTLP receiver's spans take the events path here (converted by the daemon), the Langfuse SDK's the raw path.
    .replace("otel:\n      receivers: [otlp, langfuse]", "otel:\n      receivers: [langfuse]")
    .replace("events:\n      receivers: [langfuse]", "events:\n      receivers: [otlp, langfuse]");
  env = { ...KEYS, S3_BUCKET: BUCKET, S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY_ID: "S3RVER", S3_SECRET_ACCESS_KEY: "S3RVER", REDIS_URL: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379" };
  configFile = join(folder, "privacy.yaml");
  await writeFile(configFile, yaml);
  // Every log line the daemon writes, down to debug, is checked for secrets too.
  daemon = await startDaemon(yaml, { env, logger: pino({ level: "debug" }, { write: (line: string) => void logLines.push(line) }) });
});

afterAll(async () => {
  await daemon?.stop();
  await redis?.cleanup();
  await s3?.stop();
  await rm(folder, { recursive: true, force: true });
});

const settled = () => Promise.all(daemon.service.pipelines.map((pipeline) => pipeline.spool?.idle()));

/** Every byte of every file under a folder, as text. */
async function filesUnder(path: string): Promise<string[]> {
  const texts: string[] = [];
  for (const name of await readdir(path)) {
    const child = join(path, name);
    if ((await stat(child)).isDirectory()) texts.push(...(await filesUnder(child)));
    else texts.push(await readFile(child, "latin1"));
  }
  return texts;
}

function expectNoLeak(texts: readonly string[], where: string): void {
  for (const text of texts) for (const leak of LEAKS) expect(text.includes(leak), `${leak} found in ${where}`).toBe(false);
}

const prompt = (secret: string) => JSON.stringify([{ role: "user", content: `my card ${SECRETS.payment_card[0]}, key ${secret}, customer CUST-654321` }]);

async function sendWithOtelSdk(): Promise<void> {
  const exporter = new OTLPTraceExporter({ url: `${daemon.url("otlp")}/v1/traces`, headers: { authorization: basicAuth(KEYS.LANGFUSE_PUBLIC_KEY, KEYS.LANGFUSE_SECRET_KEY) } });
  const provider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
  const http = provider.getTracer("@opentelemetry/instrumentation-http");
  const own = provider.getTracer("checkout-service");
  const llm = provider.getTracer("opentelemetry.instrumentation.openai");
  // Parents given explicitly: no context manager is registered.
  const root = own.startSpan("place-order", { attributes: { "user.email": SECRETS.email[0]!, "input.value": prompt(SECRETS.openai_key[0]!) } });
  const call = http.startSpan("POST /v1/chat/completions", { attributes: { "http.request.header.authorization": `Bearer ${SECRETS.jwt[0]}` } }, trace.setSpan(ROOT_CONTEXT, root));
  const chat = llm.startSpan("chat gpt-4o", { attributes: { "gen_ai.prompt": prompt(SECRETS.anthropic_key[0]!), "gen_ai.request.model": "gpt-4o" } }, trace.setSpan(ROOT_CONTEXT, call));
  chat.addEvent("gen_ai.user.message", { content: `${SECRETS.aws_access_key[0]} ${SECRETS.github_token[0]}` });
  chat.end();
  call.end();
  root.setAttribute("db.password", "hunter2-password-value");
  root.setStatus({ code: 2, message: `failed with ${SECRETS.slack_token[0]} and ${SECRETS.google_api_key[0]}` });
  root.end();
  http.startSpan("GET /health").end();
  await provider.forceFlush();
  await provider.shutdown();
}

async function sendWithLangfuseSdks(): Promise<void> {
  const processor = new LangfuseSpanProcessor({
    publicKey: KEYS.LANGFUSE_PUBLIC_KEY,
    secretKey: KEYS.LANGFUSE_SECRET_KEY,
    baseUrl: daemon.url("langfuse"),
    exportMode: "immediate",
    // Export every span, so the daemon's filter is what decides.
    shouldExportSpan: () => true,
  });
  const provider = new NodeTracerProvider({ spanProcessors: [processor] });
  const sdk = provider.getTracer("langfuse-sdk");
  const span = sdk.startSpan("answer");
  span.setAttribute("langfuse.observation.input", JSON.stringify({ messages: [{ content: `reach me at ${SECRETS.email[0]}`, api_key: "hunter2-password-value" }] }));
  span.setAttribute("langfuse.observation.output", `here is ${SECRETS.private_key[0]}`);
  span.end();
  provider.getTracer("@opentelemetry/instrumentation-pg").startSpan("SELECT users").end();
  await processor.forceFlush();
  await provider.shutdown();

  const errors: unknown[] = [];
  const legacy = new Langfuse({ publicKey: KEYS.LANGFUSE_PUBLIC_KEY, secretKey: KEYS.LANGFUSE_SECRET_KEY, baseUrl: daemon.url("langfuse"), flushAt: 100 });
  legacy.on("error", (error: unknown) => errors.push(error));
  const legacyTrace = legacy.trace({ name: "legacy", userId: SECRETS.email[0], input: { question: prompt(SECRETS.openai_key[0]!) }, metadata: { password: "hunter2-password-value" } });
  legacyTrace.generation({ name: "llm", model: "gpt-4o", input: [{ role: "user", content: `card ${SECRETS.payment_card[0]}` }], usage: { input: 5, output: 3 } }).end({ output: "ok" });
  // The example's health-check rule is trace-level: this whole trace goes.
  legacy.trace({ name: "probe" }).event({ name: "GET /health" });
  await legacy.flushAsync();
  await legacy.shutdownAsync();
  expect(errors).toEqual([]);
}

describe("config/examples/privacy.yaml with real clients", () => {
  it("keeps every secret out of the spool, the dead letters, S3, the queues, the metrics and the logs; drops filtered spans", async () => {
    await sendWithOtelSdk();
    await sendWithLangfuseSdks();
    await settled();

    // The bucket is missing: everything accepted is dead-lettered, already redacted.
    const spoolFiles = await filesUnder(join(folder, "spool"));
    expect(spoolFiles.length).toBeGreaterThan(0);
    expect(spoolFiles.join("\n")).toContain("[REDACTED]");
    expectNoLeak(spoolFiles, "the spool or its dead letters");

    await s3.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const replay = await run(process.execPath, [CLI, "dead-letters", "--replay", "--config", configFile], { env: { ...process.env, ...env } });
    expect(replay.stdout).toMatch(/^replayed \d+ dead-letter files?, 0 still failing\n$/);

    const keys = await s3.listKeys("events/");
    const objects = await Promise.all(keys.map(async (key) => (await s3.getObject(key)).body));
    expectNoLeak(objects, "S3");
    for (const object of objects) expect(() => JSON.parse(object)).not.toThrow();
    const all = objects.join("\n");
    // Filtered: the HTTP spans (health check and the chat call's parent), the pg span; kept: the rest.
    for (const gone of ["GET /health", "POST /v1/chat/completions", "SELECT users", "probe"]) expect(all).not.toContain(gone);
    for (const kept of ["place-order", "chat gpt-4o", "answer", "legacy", "llm"]) expect(all).toContain(kept);
    expect(keys.some((key) => key.startsWith("events/otel/project-privacy/"))).toBe(true);
    expect(keys.some((key) => key.startsWith("events/project-privacy/observation/"))).toBe(true);
    // The OpenAI span's HTTP parent was dropped: it hangs under the kept root instead (orphans: reparent).
    const events = objects.filter((object) => object.startsWith("[{\"id\"")).flatMap((object) => JSON.parse(object) as Array<{ body: Record<string, unknown> }>);
    const root = events.find((event) => event.body.name === "place-order" && event.body.parentObservationId !== undefined)!;
    const chat = events.find((event) => event.body.name === "chat gpt-4o" && event.body.traceId !== undefined)!;
    expect(chat.body.traceId).toBe(root.body.traceId);
    expect(chat.body.parentObservationId).toBe(root.body.id);

    const jobs = [...(await redis.jobs("ingestion-queue")), ...(await redis.jobs("otel-ingestion-queue"))];
    expect(jobs.length).toBeGreaterThan(0);
    expectNoLeak([JSON.stringify(jobs)], "the queues");

    const scrape = await (await fetch(`http://${daemon.service.metricsServer!.address()}/metrics`)).text();
    expectNoLeak([scrape], "the metrics");
    expect(logLines.length).toBeGreaterThan(0);
    expectNoLeak(logLines, "the logs");
    expect(scrape).toMatch(/redactions_total\{[^}]*rule="email"[^}]*\} [1-9]/);
    expect(scrape).toMatch(/redactions_total\{[^}]*rule="customer_id"[^}]*\} [1-9]/);
    expect(scrape).toMatch(/filter_dropped_total\{[^}]*rule="not_kept"[^}]*\} [1-9]/);
    expect(scrape).toMatch(/filter_dropped_total\{[^}]*rule="health_checks"[^}]*\} [1-9]/);
  });

  it("takes new redact and filter rules on live reload, for the next request", async () => {
    const yaml = await readFile(configFile, "utf8");
    const reloaded = yaml
      .replace(/\{ name: customer_id, .*$/m, '{ name: order_id, regex: "ORD-[0-9]{4}" }')
      .replace("    drop:\n", '    drop:\n      - { name: debug_spans, span_name: { prefix: "debug." } }\n');
    expect(reloaded).toContain("order_id");
    const { restartNeeded } = await daemon.service.reload(loadConfigText(reloaded, { env: { ...process.env, ...env } }));
    expect(restartNeeded).toEqual([]);

    const traceId = "5".repeat(32);
    const spans = [
      span({ traceId, spanId: "5000000000000001", name: "after-reload", attributes: { "app.note": "CUST-111111 ORD-1234" } }),
      span({ traceId, spanId: "5000000000000002", parentSpanId: "5000000000000001", name: "debug.dump" }),
    ];
    const response = await fetch(`${daemon.url("otlp")}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: basicAuth(KEYS.LANGFUSE_PUBLIC_KEY, KEYS.LANGFUSE_SECRET_KEY) },
      body: toJson(resourceSpans(spans, { name: "checkout-service", version: "1" })),
    });
    expect(response.status).toBe(200);
    await settled();
    const stored = await Promise.all((await s3.listKeys("events/project-privacy/observation/5000000000000001/")).map(async (key) => (await s3.getObject(key)).body));
    expect(stored).toHaveLength(1);
    expect(stored[0]).toContain("CUST-111111");
    expect(stored[0]).not.toContain("ORD-1234");
    expect(await s3.listKeys("events/project-privacy/observation/5000000000000002/")).toEqual([]);
  });
});
