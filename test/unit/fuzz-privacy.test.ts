/**
 * Property-based fuzzing (fast-check) of the privacy processors, `redact` and `filter`: the
 * promises docs/privacy.md makes, checked on arbitrary requests rather than hand-picked ones.
 *
 * - redact: a secret embedded anywhere a text is walked (attribute values of every kind, nested
 *   arrays and key-value lists, JSON held in text, span and event names, status messages; native
 *   events' content fields) is gone from what is stored, in an otel pipeline (OTLP/JSON and
 *   protobuf) and an events pipeline, with markers and with hashes; what is stored is valid JSON;
 *   redacting it again changes nothing.
 * - filter: a span is stored iff a small reference model written here says so (so filtering never
 *   drops a span no rule selected), the stored JSON parses, reparented spans never point at a
 *   dropped span, and both encodings keep the same spans.
 *
 * Secrets are embedded with separators on both sides (see SEPARATORS): detectors are anchored, so a
 * secret glued to letters or digits is a different token, and these properties are about
 * detection, not tokenisation.
 *
 * The seed is fixed so CI is deterministic; `npm run fuzz` hunts wider (a new seed, 20,000 runs
 * per property; `FUZZ_SEED` and `FUZZ_RUNS` override). A failure prints the shrunk counterexample
 * and the seed and path to replay it.
 */
import fc from "fast-check";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { EventBatch } from "../../src/pipeline/batch.js";
import type { ProcessorSettings } from "../../src/pipeline/component.js";
import { toEventRecords } from "../../src/pipeline/events-pipeline.js";
import { SpanBatch } from "../../src/pipeline/span-batch.js";
import { ExportTraceServiceRequest } from "../../src/otlp/schema.js";
import { OtlpTraceRequest } from "../../src/otlp/trace-request.js";
import { filterProcessorFactory } from "../../src/processors/filter/factory.js";
import { redactProcessorFactory } from "../../src/processors/redact/factory.js";
import { metrics } from "../../src/telemetry/metrics.js";
import { exportContext } from "../support/export-groups.js";
import { SECRETS } from "./redact/secrets.js";
import { contentText, jsonWithSecrets, SECRET_LIST, textWithSecrets } from "../support/secret-text.js";

const SEED = Number(process.env.FUZZ_SEED ?? 20261126);
const RUNS = Number(process.env.FUZZ_RUNS ?? 100);
const PARAMETERS = { seed: SEED, numRuns: RUNS };

const logger = pino({ level: "silent" });
const settingsOf = (type: string): ProcessorSettings => ({ id: { type, name: undefined, text: type }, logger, metrics, pipeline: "fuzz-privacy" });
const redactProcessor = (config: unknown) => redactProcessorFactory.create(settingsOf("redact"), redactProcessorFactory.configSchema.parse(config));
const filterProcessor = (config: unknown) => filterProcessorFactory.create(settingsOf("filter"), filterProcessorFactory.configSchema.parse(config));

const STATUS_CODES: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };

/**
 * OTLP/JSON-shaped data as the same request in protobuf: every id from hex to bytes (spans,
 * parents and links), status codes sent by name (OTLP/JSON allows it) as their numbers.
 */
function toProtobuf(resourceSpans: unknown): Buffer {
  const shaped = JSON.parse(JSON.stringify(resourceSpans), (key, value: unknown) => {
    if ((key === "traceId" || key === "spanId" || key === "parentSpanId") && typeof value === "string") return Buffer.from(value, "hex");
    if (key === "code" && typeof value === "string") return STATUS_CODES[value];
    return value;
  }) as unknown[];
  return Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject({ resourceSpans: shaped })).finish());
}

const toJson = (resourceSpans: unknown): Buffer => Buffer.from(JSON.stringify({ resourceSpans }));

const ENCODINGS = [
  ["OTLP/JSON", (data: unknown) => OtlpTraceRequest.fromJson(toJson(data))],
  ["protobuf", (data: unknown) => OtlpTraceRequest.fromProtobuf(toProtobuf(data))],
] as const;

/** An id as stored: hex text, or a Buffer's JSON (protobuf requests); empty bytes read as none. */
function idText(id: unknown): string | undefined {
  if (typeof id === "string") return id === "" ? undefined : id;
  if (typeof id === "object" && id !== null && Array.isArray((id as { data?: unknown }).data)) {
    const hex = Buffer.from((id as { data: number[] }).data).toString("hex");
    return hex === "" ? undefined : hex;
  }
  return undefined;
}

const hexId = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString("hex"));
const nanos = fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }).map(String);

// ---------------------------------------------------------------------------------------------
// Redaction
// ---------------------------------------------------------------------------------------------


/**
 * OTLP/JSON AnyValue of every kind, nesting bounded; every text may hold secrets. Numbers (from
 * `intValues`, `doubleValues`) are left alone by redact, as the docs say.
 */
const anyValueOf = (intValues: fc.Arbitrary<string>, doubleValues: fc.Arbitrary<number>): fc.Arbitrary<unknown> =>
  fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.record({ stringValue: contentText }),
      fc.record({ intValue: intValues }),
      fc.record({ doubleValue: doubleValues }),
      fc.record({ boolValue: fc.boolean() }),
      fc.record({ bytesValue: fc.base64String({ maxLength: 12 }) }),
      fc.record({ arrayValue: fc.record({ values: fc.array(tie("value"), { maxLength: 3 }) }) }),
      fc.record({ kvlistValue: fc.record({ values: fc.array(fc.record({ key: fc.string({ maxLength: 8 }), value: tie("value") }), { maxLength: 3 }) }) }),
      fc.constant({}),
    ),
  })).value;

const attributeKey = fc.oneof(
  fc.constantFrom("gen_ai.prompt", "gen_ai.completion", "gen_ai.prompt.0.content", "input.value", "output.value", "ai.prompt.messages", "langfuse.observation.input", "langfuse.trace.metadata", "user.id", "http.url"),
  fc.string({ maxLength: 10 }),
);

const secretSpanOf = (attributes: fc.Arbitrary<unknown[]>) =>
  fc.record(
    {
      traceId: hexId(16),
      spanId: hexId(8),
      parentSpanId: fc.oneof(hexId(8), fc.constant("")),
      name: textWithSecrets,
      kind: fc.integer({ min: 0, max: 5 }),
      startTimeUnixNano: nanos,
      endTimeUnixNano: nanos,
      attributes,
      events: fc.array(fc.record({ name: textWithSecrets, timeUnixNano: nanos, attributes }), { maxLength: 2 }),
      links: fc.array(fc.record({ traceId: hexId(16), spanId: hexId(8), attributes }), { maxLength: 1 }),
      status: fc.record({ code: fc.integer({ min: 0, max: 2 }), message: textWithSecrets }, { requiredKeys: [] }),
    },
    { requiredKeys: ["traceId", "spanId", "name", "startTimeUnixNano", "endTimeUnixNano"] },
  );

/** A request with secrets in every walked text; scope names and versions, ids and keys are random but clean. */
const requestWithSecretsOf = (intValues: fc.Arbitrary<string>, doubleValues: fc.Arbitrary<number>) => {
  const attributes = fc.array(fc.record({ key: attributeKey, value: anyValueOf(intValues, doubleValues) }), { maxLength: 4 });
  return fc.array(
    fc.record(
      {
        resource: fc.record({ attributes }, { requiredKeys: [] }),
        scopeSpans: fc.array(
          fc.record(
            {
              scope: fc.record({ name: fc.constantFrom("langfuse-sdk", "openinference.instrumentation.openai", "ai", "my-app"), version: fc.string({ maxLength: 5 }), attributes }, { requiredKeys: ["name"] }),
              spans: fc.array(secretSpanOf(attributes), { maxLength: 3 }),
            },
            { requiredKeys: ["spans"] },
          ),
          { maxLength: 2 },
        ),
      },
      { requiredKeys: ["scopeSpans"] },
    ),
    { minLength: 1, maxLength: 2 },
  );
};

/** Integers, some of them long ones (an epoch in milliseconds, and a card number: numbers are left alone). */
const requestWithSecrets = requestWithSecretsOf(
  fc.oneof(fc.integer().map(String), fc.constantFrom("4111111111111111", "1700000000000")),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
/**
 * For a second pass over the events an events pipeline stores: numbers whose text holds no card
 * number. The converter stores attribute values as Langfuse does, numbers as text ("4111111111111111",
 * "-1.4440184941685127e-43"; nested ones inside JSON text), and redact on events reads text, so a
 * second pass would redact what the first, on spans, left alone as a number (docs/privacy.md:
 * numbers are left alone).
 */
const requestWithSecretsForEvents = requestWithSecretsOf(
  fc.oneof(fc.integer().map(String), fc.constant("1700000000000")),
  fc.integer().map((quarters) => quarters / 4),
);

const HASH_CONFIG = { with: "hash", hash_key: "fuzz-privacy-hash-key-0123456789" } as const;
const REDACT_CONFIGS = [
  ["marker", {}],
  ["hash", HASH_CONFIG],
] as const;
const redactConfig = fc.constantFrom(...REDACT_CONFIGS);

/** An AWS key id whose pseudonym under HASH_CONFIG is all digits, and a valid card number: [HASH:4221240260588089]. */
const KEY_HASHED_TO_DIGITS = "AKIAXRYBAAAAAAAAAAAA";
/**
 * Texts that hid secrets once, run every time: a secret after a newline or tab (escaped in the
 * stored JSON, in JSON text, in a text sent as a JSON string as Langfuse's SDKs send a text input,
 * and in JSON in JSON), and a pseudonym that reads as a card number.
 */
const REGRESSION_TEXTS = [
  `line\n${SECRETS.aws_access_key[0]}`,
  JSON.stringify([{ role: "user", content: `line\n${SECRETS.github_token[0]}` }]),
  JSON.stringify(`my key:\n${SECRETS.openai_key[0]}`),
  JSON.stringify(JSON.stringify({ content: `\t${SECRETS.anthropic_key[0]}` })),
  `key ${KEY_HASHED_TO_DIGITS}`,
];
const REDACT_EXAMPLES = REDACT_CONFIGS.map((config) => [
  [
    {
      scopeSpans: [
        {
          scope: { name: "langfuse-sdk" },
          spans: [
            {
              traceId: "0af7651916cd43dd8448eb211c80319c",
              spanId: "b7ad6b7169203331",
              name: "op",
              startTimeUnixNano: "1700000000000000000",
              endTimeUnixNano: "1700000001000000000",
              attributes: REGRESSION_TEXTS.map((text, index) => ({ key: index === 2 ? "langfuse.observation.input" : `a${index}`, value: { stringValue: text } })),
            },
          ],
        },
      ],
    },
  ],
  config,
]) as never[];
const NATIVE_EXAMPLES = REDACT_CONFIGS.map((config) => [
  [
    {
      id: "e1",
      timestamp: "2026-01-01T00:00:00.000Z",
      type: "span-create",
      body: { id: "s1", input: REGRESSION_TEXTS[2], output: REGRESSION_TEXTS[4], metadata: { a: REGRESSION_TEXTS[0], b: REGRESSION_TEXTS[1], c: REGRESSION_TEXTS[3] } },
    },
  ],
  config,
]) as never[];

/** Every text a stored value holds, and the texts of JSON held in those texts, at any depth. */
function textsOf(value: unknown, into: string[] = []): string[] {
  if (typeof value === "string") {
    into.push(value);
    try {
      textsOf(JSON.parse(value), into);
    } catch {
      // plain text
    }
  } else if (Array.isArray(value)) {
    for (const item of value) textsOf(item, into);
  } else if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      into.push(key);
      textsOf(item, into);
    }
  }
  return into;
}

/** The secrets found in stored JSON text: in its raw bytes (as they are, or JSON-escaped up to three times) or in any text it holds. */
function secretsIn(stored: string): string[] {
  const texts = textsOf(JSON.parse(stored));
  return SECRET_LIST.filter((secret) => {
    let escaped = secret;
    for (let level = 0; level < 4; level += 1, escaped = JSON.stringify(escaped).slice(1, -1)) if (stored.includes(escaped)) return true;
    return texts.some((text) => text.includes(secret));
  });
}

async function storedByOtelPipeline(request: OtlpTraceRequest, config: unknown): Promise<string> {
  const batch = new SpanBatch(exportContext(), request);
  await redactProcessor(config).processSpans(batch);
  return batch.serialise().toString("utf8");
}

describe("redact: no embedded secret is stored", () => {
  for (const [encoding, make] of ENCODINGS) {
    it(`otel pipeline, ${encoding}: none survives, the stored JSON parses, and redacting it again changes nothing`, async () => {
      await fc.assert(
        fc.asyncProperty(requestWithSecrets, redactConfig, async (data, [, config]) => {
          const stored = await storedByOtelPipeline(make(data), config);
          expect(() => JSON.parse(stored)).not.toThrow();
          expect(secretsIn(stored)).toEqual([]);
          // What is stored goes through redact again (a replay, a second pipeline): nothing changes.
          const again = await storedByOtelPipeline(OtlpTraceRequest.fromJson(Buffer.from(`{"resourceSpans":${stored}}`)), config);
          expect(JSON.parse(again)).toEqual(JSON.parse(stored));
        }),
        { ...PARAMETERS, examples: REDACT_EXAMPLES },
      );
    });

    it(`events pipeline, ${encoding}: no converted event holds a secret, and redacting twice gives what redacting once gave`, async () => {
      await fc.assert(
        fc.asyncProperty(requestWithSecrets, redactConfig, async (data, [, config]) => {
          const eventsOf = async (processors: number) =>
            JSON.stringify(
              (await toEventRecords({ kind: "otlp", request: make(data) }, exportContext(), Array.from({ length: processors }, () => redactProcessor(config)), undefined)).records.map(
                // Envelope ids and times are new each time; the rest is the data.
                ({ event }) => ({ type: event.type, body: event.body }),
              ),
            );
          const stored = await eventsOf(1);
          expect(() => JSON.parse(stored)).not.toThrow();
          expect(secretsIn(stored)).toEqual([]);
          // Twice on the spans, before conversion (two redact processors in the chain): the same events.
          expect(JSON.parse(await eventsOf(2))).toEqual(JSON.parse(stored));
        }),
        { ...PARAMETERS, examples: REDACT_EXAMPLES },
      );
    });

    it(`events pipeline, ${encoding}: redacting the stored events again changes nothing`, async () => {
      await fc.assert(
        fc.asyncProperty(requestWithSecretsForEvents, redactConfig, async (data, [, config]) => {
          const { records } = await toEventRecords({ kind: "otlp", request: make(data) }, exportContext(), [redactProcessor(config)], undefined);
          const stored = JSON.stringify(records.map(({ event }) => event));
          expect(secretsIn(stored)).toEqual([]);
          const batch = new EventBatch(exportContext(), JSON.parse(stored).map((event: never, origin: number) => ({ event, origin })));
          await redactProcessor(config).process(batch);
          expect([...batch.records()].map(({ event }) => event)).toEqual(JSON.parse(stored));
        }),
        { ...PARAMETERS, examples: REDACT_EXAMPLES },
      );
    });
  }

  it("native ingestion events: none survives in content fields or envelope metadata, the JSON parses, and redacting again changes nothing", async () => {
    const content = fc.oneof(contentText, jsonWithSecrets);
    const ids = fc.oneof(fc.uuid(), fc.string({ unit: fc.constantFrom(..."abcdef0123456789-"), minLength: 1, maxLength: 12 }));
    const body = fc.record(
      {
        id: ids,
        traceId: ids,
        name: textWithSecrets,
        input: content,
        output: content,
        metadata: fc.oneof(jsonWithSecrets, fc.dictionary(fc.string({ maxLength: 6 }), content, { maxKeys: 3 })),
        statusMessage: textWithSecrets,
        userId: textWithSecrets,
        sessionId: textWithSecrets,
        tags: fc.array(textWithSecrets, { maxLength: 2 }),
        modelParameters: fc.dictionary(fc.constantFrom("temperature", "user", "stop"), fc.oneof(textWithSecrets, fc.double({ noNaN: true, noDefaultInfinity: true })), { maxKeys: 2 }),
        comment: textWithSecrets,
        value: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), textWithSecrets),
        startTime: fc.constant("2026-01-01T00:00:00.000Z"),
        usage: fc.constant({ input: 4111111111111111, output: 3 }),
        level: fc.constantFrom("DEFAULT", "ERROR"),
      },
      { requiredKeys: ["id"] },
    );
    const event = fc.record(
      {
        id: ids,
        timestamp: fc.constant("2026-01-01T00:00:00.000Z"),
        type: fc.constantFrom("trace-create", "span-create", "span-update", "generation-create", "event-create", "score-create", "observation-create"),
        body,
        metadata: fc.oneof(fc.constant(null), jsonWithSecrets),
      },
      { requiredKeys: ["id", "timestamp", "type", "body"] },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(event, { minLength: 1, maxLength: 4 }), redactConfig, async (events, [, config]) => {
        const batch = new EventBatch(exportContext({ source: "langfuse" } as never), events.map((event, origin) => ({ event: structuredClone(event) as never, origin })));
        await redactProcessor(config).process(batch);
        const stored = JSON.stringify([...batch.records()].map(({ event }) => event));
        expect(() => JSON.parse(stored)).not.toThrow();
        expect(secretsIn(stored)).toEqual([]);
        // Structure is never touched.
        const redacted = JSON.parse(stored) as Array<{ id: string; type: string; body: Record<string, unknown> }>;
        redacted.forEach((event, index) => {
          const original = events[index]!;
          expect([event.id, event.type, event.body.id, event.body.traceId, event.body.usage, event.body.startTime, event.body.level]).toEqual([
            original.id,
            original.type,
            original.body.id,
            original.body.traceId,
            original.body.usage,
            original.body.startTime,
            original.body.level,
          ]);
        });
        const again = new EventBatch(exportContext({ source: "langfuse" } as never), redacted.map((event, origin) => ({ event: event as never, origin })));
        await redactProcessor(config).process(again);
        expect([...again.records()].map(({ event }) => event)).toEqual(JSON.parse(stored));
      }),
      { ...PARAMETERS, examples: NATIVE_EXAMPLES },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Filter
// ---------------------------------------------------------------------------------------------

const TRACE_IDS = ["11111111111111111111111111111111", "22222222222222222222222222222222", "33333333333333333333333333333333"];
const SPAN_NAMES = ["chat", "GET /health", "GET /metrics", "db.query", "openai.chat", "tool.search"];
const SCOPE_NAMES = ["langfuse-sdk", "@opentelemetry/instrumentation-http", "openinference.instrumentation.openai", "my-app"];
const ATTRIBUTE_KEYS = ["http.method", "http.status_code", "gen_ai.system", "user.tier"];
const UNKNOWN_PARENT = "ffffffffffffffff";

type Scalar = string | number | boolean;
type AttributeSpec = { kind: "string"; value: string } | { kind: "int"; value: number } | { kind: "double"; value: number } | { kind: "bool"; value: boolean } | { kind: "array" };
type ParentSpec = { kind: "none" } | { kind: "unknown" } | { kind: "span"; at: number };

interface SpanSpec {
  trace: number;
  name: string;
  status: undefined | 0 | 1 | 2 | "STATUS_CODE_ERROR" | "STATUS_CODE_OK";
  attributes: Record<string, AttributeSpec>;
  parent: ParentSpec;
}

interface FilterSpan extends Omit<SpanSpec, "parent"> {
  index: number;
  spanId: string;
  traceId: string;
  scopeName: string;
  /** Index of the parent span in the request (never the span itself), if the parent is in it. */
  parentIndex: number | undefined;
  parentSpanId: string | undefined;
}

const attributeSpec: fc.Arbitrary<AttributeSpec> = fc.oneof(
  fc.record({ kind: fc.constant("string" as const), value: fc.constantFrom("GET", "POST", "openai", "gold", "200", "true") }),
  fc.record({ kind: fc.constant("int" as const), value: fc.constantFrom(200, 404) }),
  fc.record({ kind: fc.constant("double" as const), value: fc.constantFrom(1.5, 200) }),
  fc.record({ kind: fc.constant("bool" as const), value: fc.boolean() }),
  fc.constant({ kind: "array" as const }),
);

const spanSpec: fc.Arbitrary<SpanSpec> = fc.record({
  trace: fc.integer({ min: 0, max: TRACE_IDS.length - 1 }),
  name: fc.constantFrom(...SPAN_NAMES),
  status: fc.constantFrom(undefined, 0 as const, 1 as const, 2 as const, "STATUS_CODE_ERROR" as const, "STATUS_CODE_OK" as const),
  attributes: fc.dictionary(fc.constantFrom(...ATTRIBUTE_KEYS), attributeSpec, { maxKeys: 3 }),
  // Parents anywhere in the request: before or after the child, itself, cycles; or outside it.
  parent: fc.oneof(
    { weight: 1, arbitrary: fc.constant({ kind: "none" as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: "unknown" as const }) },
    { weight: 4, arbitrary: fc.nat().map((at) => ({ kind: "span" as const, at })) },
  ),
});

interface ScopeSpec {
  scope: string;
  spans: SpanSpec[];
}

/** Resources of scopes of spans as a request, and its spans (ids 1, 2, … in request order) for the model. */
function filterRequestOf(resources: ScopeSpec[][]): { data: unknown[]; spans: FilterSpan[] } {
  const count = resources.flat().reduce((sum, scope) => sum + scope.spans.length, 0);
  const spanIdOf = (index: number) => (index + 1).toString(16).padStart(16, "0");
  const spans: FilterSpan[] = [];
  for (const scope of resources.flat()) {
    for (const spec of scope.spans) {
      const index = spans.length;
      const parentAt = spec.parent.kind === "span" ? spec.parent.at % count : undefined;
      spans.push({
        ...spec,
        index,
        spanId: spanIdOf(index),
        traceId: TRACE_IDS[spec.trace]!,
        scopeName: scope.scope,
        parentIndex: parentAt === undefined || parentAt === index ? undefined : parentAt,
        parentSpanId: spec.parent.kind === "unknown" ? UNKNOWN_PARENT : parentAt === undefined ? undefined : spanIdOf(parentAt),
      });
    }
  }
  let next = 0;
  const data = resources.map((scopes, resourceIndex) => ({
    resource: { attributes: [{ key: "service.name", value: { stringValue: `svc-${resourceIndex}` } }] },
    scopeSpans: scopes.map(({ scope, spans: specs }) => ({
      scope: { name: scope, version: "1.0" },
      spans: specs.map(() => otlpSpan(spans[next++]!)),
    })),
  }));
  return { data, spans };
}

const filterRequest = fc
  .array(fc.array(fc.record({ scope: fc.constantFrom(...SCOPE_NAMES), spans: fc.array(spanSpec, { maxLength: 4 }) }), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 2 })
  .map(filterRequestOf);

function otlpAttribute(key: string, spec: AttributeSpec) {
  switch (spec.kind) {
    case "string":
      return { key, value: { stringValue: spec.value } };
    case "int":
      return { key, value: { intValue: String(spec.value) } };
    case "double":
      return { key, value: { doubleValue: spec.value } };
    case "bool":
      return { key, value: { boolValue: spec.value } };
    case "array":
      return { key, value: { arrayValue: { values: [{ stringValue: "GET" }] } } };
  }
}

function otlpSpan(span: FilterSpan): Record<string, unknown> {
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    ...(span.parentSpanId === undefined ? {} : { parentSpanId: span.parentSpanId }),
    name: span.name,
    kind: 1,
    startTimeUnixNano: "1700000000000000000",
    endTimeUnixNano: "1700000001000000000",
    attributes: Object.entries(span.attributes).map(([key, spec]) => otlpAttribute(key, spec)),
    ...(span.status === undefined ? {} : { status: { code: span.status, message: "m" } }),
  };
}

// Rules over the same vocabulary, so that they match often.
type TextMatcher = string | { prefix: string } | { regex: string; flags?: string };
type Condition = Scalar | { exists: boolean } | { equals: Scalar } | { regex: string; flags?: string };
interface RuleSpec {
  level: "span" | "trace";
  span_name?: TextMatcher | TextMatcher[];
  scope_name?: TextMatcher | TextMatcher[];
  status?: Array<"unset" | "ok" | "error"> | "unset" | "ok" | "error";
  attributes?: Record<string, Condition>;
}
interface FilterSpec {
  keep: RuleSpec[];
  drop: RuleSpec[];
  orphans: "keep" | "reparent" | "drop";
}

const regexMatcher = fc.record({ regex: fc.constantFrom("^GET ", "health|metrics", "^chat$", "\\.", "OPENAI", "instrumentation", "^my-"), flags: fc.constantFrom("i", "") }, { requiredKeys: ["regex"] });
const textMatcher = (vocabulary: readonly string[], prefixes: readonly string[]): fc.Arbitrary<TextMatcher> =>
  fc.oneof(fc.constantFrom(...vocabulary), fc.record({ prefix: fc.constantFrom(...prefixes) }), regexMatcher);
const textMatchers = (vocabulary: readonly string[], prefixes: readonly string[]) =>
  fc.oneof(textMatcher(vocabulary, prefixes), fc.array(textMatcher(vocabulary, prefixes), { minLength: 1, maxLength: 2 }));
const scalar: fc.Arbitrary<Scalar> = fc.constantFrom("GET", "POST", "openai", "gold", "200", 200, 404, 1.5, true, false, "true");
const condition: fc.Arbitrary<Condition> = fc.oneof(
  scalar,
  fc.record({ exists: fc.boolean() }),
  fc.record({ equals: scalar }),
  fc.record({ regex: fc.constantFrom("^GET$", "o", "^2", "^(gold|silver)$", "OPEN"), flags: fc.constantFrom("i", "") }, { requiredKeys: ["regex"] }),
);
const STATUSES = ["unset", "ok", "error"] as const;
const ruleSpec: fc.Arbitrary<RuleSpec> = fc
  .record(
    {
      level: fc.oneof({ weight: 3, arbitrary: fc.constant("span" as const) }, { weight: 1, arbitrary: fc.constant("trace" as const) }),
      span_name: textMatchers(SPAN_NAMES, ["GET ", "openai.", "tool", "c"]),
      scope_name: textMatchers(SCOPE_NAMES, ["@opentelemetry/", "openinference.", "langfuse"]),
      status: fc.oneof(fc.constantFrom(...STATUSES), fc.subarray([...STATUSES], { minLength: 1 })),
      attributes: fc.dictionary(fc.constantFrom(...ATTRIBUTE_KEYS), condition, { minKeys: 1, maxKeys: 2 }),
    },
    { requiredKeys: ["level"] },
  )
  .filter((rule) => Object.keys(rule).length > 1);
const filterSpec: fc.Arbitrary<FilterSpec> = fc
  .record({
    // Keep rules drop everything they do not select: often none, so that drop rules and orphans have spans to work on.
    keep: fc.oneof({ weight: 2, arbitrary: fc.constant<RuleSpec[]>([]) }, { weight: 1, arbitrary: fc.array(ruleSpec, { minLength: 1, maxLength: 2 }) }),
    drop: fc.array(ruleSpec, { maxLength: 3 }),
    orphans: fc.constantFrom("keep" as const, "reparent" as const, "drop" as const),
  })
  .filter((config) => config.keep.length + config.drop.length > 0);

// The reference model: what docs/privacy.md and the filter's config promise, written on the specs.

function textMatches(matchers: TextMatcher | TextMatcher[], text: string): boolean {
  return [matchers].flat().some((matcher) => {
    if (typeof matcher === "string") return text === matcher;
    if ("prefix" in matcher) return text.startsWith(matcher.prefix);
    return new RegExp(matcher.regex, matcher.flags).test(text);
  });
}

/** An attribute's value as rules compare it: its text for scalars, null for an array; undefined when absent. */
function attributeText(spec: AttributeSpec | undefined): string | null | undefined {
  if (spec === undefined) return undefined;
  return spec.kind === "array" ? null : String(spec.value);
}

function conditionHolds(condition: Condition, value: string | null | undefined): boolean {
  if (typeof condition !== "object") return value === String(condition);
  if ("exists" in condition) return (value !== undefined) === condition.exists;
  if ("equals" in condition) return value === String(condition.equals);
  return typeof value === "string" && new RegExp(condition.regex, condition.flags).test(value);
}

function statusOf(span: FilterSpan): "unset" | "ok" | "error" {
  return span.status === 2 || span.status === "STATUS_CODE_ERROR" ? "error" : span.status === 1 || span.status === "STATUS_CODE_OK" ? "ok" : "unset";
}

function ruleMatches(rule: RuleSpec, span: FilterSpan): boolean {
  if (rule.span_name !== undefined && !textMatches(rule.span_name, span.name)) return false;
  if (rule.scope_name !== undefined && !textMatches(rule.scope_name, span.scopeName)) return false;
  if (rule.status !== undefined && ![rule.status].flat().includes(statusOf(span))) return false;
  return Object.entries(rule.attributes ?? {}).every(([key, condition]) => conditionHolds(condition, attributeText(span.attributes[key])));
}

/** A rule selects a span: it matches the span, or (trace level) any span of the span's trace in the request. */
function selects(rule: RuleSpec, span: FilterSpan, spans: readonly FilterSpan[]): boolean {
  return rule.level === "span" ? ruleMatches(rule, span) : spans.some((other) => other.traceId === span.traceId && ruleMatches(rule, other));
}

interface Expected {
  kept: boolean[];
  /** For kept spans: the parent span id they are stored with (undefined: a root). */
  parentOf: Array<string | undefined>;
}

function expectedFilter(spans: readonly FilterSpan[], filter: FilterSpec): Expected {
  const dropped = spans.map(
    (span) => (filter.keep.length > 0 && !filter.keep.some((rule) => selects(rule, span, spans))) || filter.drop.some((rule) => selects(rule, span, spans)),
  );
  if (filter.orphans === "drop") {
    // Descendants of dropped spans, to a fixed point (parents may come after their children).
    for (let changed = true; changed; ) {
      changed = false;
      for (const span of spans) {
        if (!dropped[span.index] && span.parentIndex !== undefined && dropped[span.parentIndex]) dropped[span.index] = changed = true;
      }
    }
  }
  const parentOf = spans.map((span) => {
    if (filter.orphans !== "reparent" || span.parentIndex === undefined || !dropped[span.parentIndex]) return span.parentSpanId;
    // Up through dropped ancestors to the nearest kept one; a root (or a cycle of dropped spans) makes it a root.
    const seen = new Set<number>();
    let ancestor = spans[span.parentIndex]!;
    for (;;) {
      seen.add(ancestor.index);
      if (ancestor.parentIndex === undefined) return ancestor.parentSpanId === UNKNOWN_PARENT ? UNKNOWN_PARENT : undefined;
      if (!dropped[ancestor.parentIndex]) return ancestor.parentSpanId;
      if (seen.has(ancestor.parentIndex)) return undefined;
      ancestor = spans[ancestor.parentIndex]!;
    }
  });
  return { kept: dropped.map((isDropped) => !isDropped), parentOf };
}

interface StoredSpan {
  traceId: string | undefined;
  spanId: string | undefined;
  parentSpanId: string | undefined;
}

async function storedAfterFilter(request: OtlpTraceRequest, config: FilterSpec): Promise<StoredSpan[]> {
  const batch = new SpanBatch(exportContext(), request);
  await filterProcessor(config).processSpans(batch);
  const text = batch.serialise().toString("utf8");
  const stored = JSON.parse(text) as Array<{ scopeSpans?: Array<{ spans?: Array<Record<string, unknown>> }> }>;
  const spans = stored.flatMap((resource) => (resource.scopeSpans ?? []).flatMap((scope) => scope.spans ?? []));
  expect(batch.spanCount).toBe(spans.length);
  return spans.map((span) => ({ traceId: idText(span.traceId), spanId: idText(span.spanId), parentSpanId: idText(span.parentSpanId) }));
}

/** Shapes the generator reaches rarely, run every time: a dropped span that is its own parent, and a cycle of dropped spans, each over a kept child. */
const spanOf = (name: string, at: number): SpanSpec => ({ trace: 0, name, status: undefined, attributes: {}, parent: { kind: "span", at } });
const FILTER_EXAMPLES: Array<[ReturnType<typeof filterRequestOf>, FilterSpec]> = (["reparent", "drop", "keep"] as const).flatMap((orphans) => [
  [filterRequestOf([[{ scope: "my-app", spans: [spanOf("db.query", 0), spanOf("chat", 0)] }]]), { keep: [], drop: [{ level: "span", span_name: "db.query" }], orphans }],
  [filterRequestOf([[{ scope: "my-app", spans: [spanOf("db.query", 1), spanOf("db.query", 0), spanOf("chat", 1)] }]]), { keep: [], drop: [{ level: "span", span_name: "db.query" }], orphans }],
]);

describe("filter: a span is stored iff the reference model keeps it", () => {
  it("both encodings: the kept spans and their parents are the model's; every drop is explained by a rule; reparented spans never point at a dropped span", async () => {
    await fc.assert(
      fc.asyncProperty(filterRequest, filterSpec, async ({ data, spans }, config) => {
        const expected = expectedFilter(spans, config);
        const results: StoredSpan[][] = [];
        for (const [, make] of ENCODINGS) results.push(await storedAfterFilter(make(data), config));
        const [json, protobuf] = results as [StoredSpan[], StoredSpan[]];
        // Both encodings keep the same spans, in request order, with the same parents.
        expect(protobuf).toEqual(json);

        const keptIds = new Set(json.map((span) => span.spanId));
        expect(keptIds.size).toBe(json.length);
        const droppedSpans = spans.filter((span) => !keptIds.has(span.spanId));

        // Filtering never drops a span a rule did not select: each drop is a drop rule's, a missing
        // keep rule's, or (orphans: drop) that of a descendant of a dropped span.
        for (const span of droppedSpans) {
          const byDropRule = config.drop.some((rule) => selects(rule, span, spans));
          const notKept = config.keep.length > 0 && !config.keep.some((rule) => selects(rule, span, spans));
          const orphan = config.orphans === "drop" && span.parentIndex !== undefined && !keptIds.has(spans[span.parentIndex]!.spanId);
          expect({ span: span.index, explained: byDropRule || notKept || orphan }).toEqual({ span: span.index, explained: true });
        }
        if (config.orphans === "reparent") {
          const droppedIds = new Set(droppedSpans.map((span) => span.spanId));
          for (const span of json) expect(droppedIds.has(span.parentSpanId ?? "")).toBe(false);
        }

        // The exact answer of the model.
        const expectedStored = spans
          .filter((span) => expected.kept[span.index])
          .map((span) => ({ traceId: span.traceId, spanId: span.spanId, parentSpanId: expected.parentOf[span.index] }));
        expect(json).toEqual(expectedStored);
      }),
      { ...PARAMETERS, examples: FILTER_EXAMPLES },
    );
  });
});
