import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { pino } from "pino";
import { parse } from "yaml";
import { z } from "zod";
import { checkConfigFile } from "../config/load.js";
import { formatProblem } from "../config/problems.js";
import { EventBatch } from "../pipeline/batch.js";
import { lastIndexBeforeConversion, toEventRecords } from "../pipeline/events-pipeline.js";
import { isPipelineError } from "../pipeline/errors.js";
import type { Processor } from "../pipeline/component.js";
import { metrics } from "../telemetry/metrics.js";
import type { RequestContext, TracePayload } from "../pipeline/payload.js";
import { SpanBatch } from "../pipeline/span-batch.js";
import { OtlpTraceRequest } from "../otlp/trace-request.js";

/**
 * `langfuse-otel-receiver test`: unit tests for a pipeline's processors, like Vector's. Each
 * case sends an OTLP/JSON request or an ingestion batch through the processors of a pipeline (or
 * some of them), offline, and compares what comes out with what the case expects. Nothing is
 * exported and no Redis or S3 is needed; every trace counts as new (shallow trace-creates stay).
 * In an otel pipeline the processors see the raw spans: `count` is the spans left, `spans` the
 * spans themselves. An events pipeline runs as the daemon runs it (see toEventRecords).
 */
const caseSchema = z.strictObject({
  name: z.string().min(1),
  pipeline: z.string().optional(),
  /** Run only these processors (in the pipeline's order); default: all of the pipeline's. */
  processors: z.array(z.string()).optional(),
  /** The request's Authorization header, e.g. `Basic <base64 pk:sk>`; or give the key pair. */
  authorization: z.string().optional(),
  public_key: z.string().optional(),
  secret_key: z.string().optional(),
  input: z.union([z.strictObject({ otlp: z.strictObject({ resourceSpans: z.array(z.unknown()) }) }), z.strictObject({ ingestion: z.array(z.unknown()) })]),
  expect: z.strictObject({
    /** Each expected event is compared with the event at the same position; only the keys given are checked (events pipelines). */
    events: z.array(z.unknown()).optional(),
    count: z.number().int().min(0).optional(),
    /** Per-item refusals (status, message, error), partially matched, in order. */
    rejected: z.array(z.unknown()).optional(),
    /** The spans left (otel pipelines), in order across resources and scopes; only the keys given are checked. */
    spans: z.array(z.unknown()).optional(),
    /** The whole request is refused with this intent: invalid, unauthenticated, forbidden, ... */
    refused: z.string().optional(),
  }),
});

const fileSchema = z.strictObject({
  /** The pipeline config, relative to this file; `--config` overrides it. */
  config: z.string().optional(),
  tests: z.array(caseSchema).min(1),
});

export interface TestOutcome {
  name: string;
  passed: boolean;
  problems: string[];
}

/** Whether `actual` has every key of `expected` with matching values (recursively; arrays element by element). */
function mismatches(expected: unknown, actual: unknown, path: string, found: string[]): void {
  if (expected !== null && typeof expected === "object") {
    if (Array.isArray(expected)) {
      if (!Array.isArray(actual) || actual.length !== expected.length) {
        found.push(`${path}: expected an array of ${expected.length}, got ${JSON.stringify(actual)}`);
        return;
      }
      expected.forEach((item, index) => mismatches(item, actual[index], `${path}[${index}]`, found));
      return;
    }
    if (actual === null || typeof actual !== "object" || Array.isArray(actual)) {
      found.push(`${path}: expected an object, got ${JSON.stringify(actual)}`);
      return;
    }
    for (const [key, value] of Object.entries(expected)) mismatches(value, (actual as Record<string, unknown>)[key], path ? `${path}.${key}` : key, found);
    return;
  }
  if (expected !== actual) found.push(`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

/** Adds a problem when the request was refused (or not) other than the case expects. */
function checkRefusal(refusal: Error | undefined, expected: string | undefined, found: string[]): void {
  if (refusal === undefined) {
    if (expected) found.push(`expected the request to be refused (${expected}), but it was accepted`);
    return;
  }
  const intent = isPipelineError(refusal) ? refusal.intent : "unexpected";
  if (expected !== intent) found.push(`request refused (${intent}): ${refusal.message}`);
}

export async function runPipelineTests(testFile: string, configOverride?: string): Promise<{ outcomes: TestOutcome[]; setupProblems: string[] }> {
  const parsed = fileSchema.safeParse(parse(await readFile(testFile, "utf8")));
  if (!parsed.success) return { outcomes: [], setupProblems: parsed.error.issues.map((issue) => `${testFile}: ${issue.path.join(".")}: ${issue.message}`) };
  const configFile = configOverride ?? (parsed.data.config ? resolve(dirname(testFile), parsed.data.config) : undefined);
  if (configFile === undefined) return { outcomes: [], setupProblems: [`${testFile}: give the pipeline config as config: or --config`] };
  const { config, problems } = await checkConfigFile(configFile);
  if (config === undefined) return { outcomes: [], setupProblems: problems.map(formatProblem) };

  const logger = pino({ level: "silent" });
  /** Creates and starts the named processors, runs `work` with them, and stops them; returns the error that refused the request, if one did. */
  const withProcessors = async (pipelineId: string, names: readonly string[], work: (processors: Processor[]) => Promise<void>): Promise<Error | undefined> => {
    const processors: Processor[] = [];
    try {
      for (const name of names) {
        const { id, factory, config: processorConfig } = config.processors.get(name)!;
        const processor = factory.create({ id, logger, metrics, pipeline: pipelineId }, processorConfig as never);
        processors.push(processor);
        await processor.start();
      }
      await work(processors);
      return undefined;
    } catch (error) {
      return error as Error;
    } finally {
      for (const processor of processors) await processor.shutdown();
    }
  };
  const outcomes: TestOutcome[] = [];
  for (const testCase of parsed.data.tests) {
    const found: string[] = [];
    const pipeline = testCase.pipeline ? config.pipelines.find((candidate) => candidate.id === testCase.pipeline) : config.pipelines[0];
    if (pipeline === undefined) {
      outcomes.push({ name: testCase.name, passed: false, problems: [`no pipeline ${testCase.pipeline}`] });
      continue;
    }
    const chosen = testCase.processors ? pipeline.processors.filter((name) => testCase.processors!.includes(name)) : pipeline.processors;
    const authorization =
      testCase.authorization ??
      (testCase.public_key && testCase.secret_key ? `Basic ${Buffer.from(`${testCase.public_key}:${testCase.secret_key}`).toString("base64")}` : undefined);
    const otlp = "otlp" in testCase.input;
    const context: RequestContext = { receiver: "test", transport: "http", source: otlp ? "otel" : "api", authorization, sdkName: "unknown", sdkVersion: "unknown", ingestionVersion: "" };
    if (pipeline.type === "otel") {
      if (!("otlp" in testCase.input)) found.push(`pipeline ${pipeline.id} carries OTLP spans: give input.otlp`);
      else if (testCase.expect.events || testCase.expect.rejected) found.push("expect.events and expect.rejected apply to events pipelines; an otel pipeline passes spans, checked with expect.count and expect.spans");
      else {
        const batch = new SpanBatch(context, OtlpTraceRequest.fromObjects(structuredClone(testCase.input.otlp.resourceSpans)));
        const refusal = await withProcessors(pipeline.id, chosen, async (processors) => {
          for (const processor of processors) await processor.processSpans(batch);
        });
        checkRefusal(refusal, testCase.expect.refused, found);
        if (refusal === undefined) {
          if (testCase.expect.count !== undefined && batch.spanCount !== testCase.expect.count) found.push(`expected ${testCase.expect.count} spans, got ${batch.spanCount}`);
          if (testCase.expect.spans) mismatches(testCase.expect.spans, spansOf(batch.resourceSpans), "spans", found);
        }
      }
      outcomes.push({ name: testCase.name, passed: found.length === 0, problems: found });
      continue;
    }
    if (testCase.expect.spans) found.push("expect.spans applies to otel pipelines; an events pipeline passes events, checked with expect.events");
    const payload: TracePayload = "otlp" in testCase.input ? { kind: "otlp", request: OtlpTraceRequest.fromObjects(structuredClone(testCase.input.otlp.resourceSpans)) } : { kind: "ingestion", events: testCase.input.ingestion };
    let batch: EventBatch | undefined;
    const refusal = await withProcessors(pipeline.id, chosen, async (processors) => {
      // As the events pipeline does: an OTLP request meets the processors that work before conversion as spans.
      const spanPhase = payload.kind === "otlp" ? processors.slice(0, lastIndexBeforeConversion(processors) + 1) : [];
      const { records, rejections } = await toEventRecords(payload, context, spanPhase, { now: () => new Date("2026-01-01T00:00:00.000Z") });
      batch = new EventBatch(context, records);
      batch.rejections.push(...rejections);
      for (const processor of processors.slice(spanPhase.length)) await processor.process(batch);
    });
    checkRefusal(refusal, testCase.expect.refused, found);
    if (refusal !== undefined || batch === undefined) {
      outcomes.push({ name: testCase.name, passed: found.length === 0, problems: found });
      continue;
    }
    const done: EventBatch = batch;
    const events = [...done.records()].map((record) => record.event);
    if (testCase.expect.count !== undefined && events.length !== testCase.expect.count) found.push(`expected ${testCase.expect.count} events, got ${events.length}`);
    if (testCase.expect.events) mismatches(testCase.expect.events, events, "events", found);
    if (testCase.expect.rejected) mismatches(testCase.expect.rejected, done.rejections, "rejected", found);
    outcomes.push({ name: testCase.name, passed: found.length === 0, problems: found });
  }
  return { outcomes, setupProblems: [] };
}

/** The spans of resource spans, in order across resources and scopes. */
function spansOf(resourceSpans: readonly unknown[]): unknown[] {
  return resourceSpans.flatMap((resource) =>
    ((resource as { scopeSpans?: unknown[] } | null)?.scopeSpans ?? []).flatMap((scope) => (scope as { spans?: unknown[] } | null)?.spans ?? []),
  );
}
