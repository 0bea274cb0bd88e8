import { describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expandEnvironment } from "../../src/config/env.js";
import { loadConfigText } from "../../src/config/load.js";
import { ConfigError, formatProblem, type ConfigProblem } from "../../src/config/problems.js";
import { HEAP_GROWING_PERCENT } from "../../src/heap-growth.js";

const VALID = `
receivers:
  otlp:
    grpc: { endpoint: 127.0.0.1:4317 }
    http:
processors:
  validate: {}
  auth:
    keys:
      - public_key: pk
        secret_key: \${env:SECRET}
        project_id: p1
  sort:
  group: {}
exporters:
  s3:
    bucket: langfuse
    prefix: events/
    endpoint: http://127.0.0.1:9000
    force_path_style: "true"
    access_key_id: a
    secret_access_key: b
  s3/archive:
    bucket: archive
  bullmq:
    redis: { url: "\${env:REDIS_URL:-redis://127.0.0.1:6379}" }
service:
  pipelines:
    events:
      receivers: [otlp]
      processors: [validate, auth, sort, group]
      exporters: [s3, s3/archive, bullmq]
`;

function problemsOf(yaml: string, env: Record<string, string> = {}): ConfigProblem[] {
  try {
    loadConfigText(yaml, { env, file: "test.yaml" });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("config loading", () => {
  it("resolves a valid config with defaults, env references and type/name ids", () => {
    const config = loadConfigText(VALID, { env: { SECRET: "sk" } });
    expect(config.pipelines).toEqual([
      { id: "events", type: "events", receivers: ["otlp"], processors: ["validate", "auth", "sort", "group"], exporters: ["s3", "s3/archive", "bullmq"] },
    ]);
    const otlp = config.receivers.get("otlp")!.config as { grpc: { endpoint: unknown }; http: { endpoint: unknown; traces_url_path: string } };
    expect(otlp.grpc.endpoint).toEqual({ host: "127.0.0.1", port: 4317 });
    expect(otlp.http).toMatchObject({ endpoint: { host: "127.0.0.1", port: 4318 }, traces_url_path: "/v1/traces", max_request_body_size: 64 * 1024 * 1024 });
    expect(config.exporters.get("s3")!.config).toMatchObject({ force_path_style: true, checksum: "when_required", region: "us-east-1" });
    expect(config.exporters.get("s3/archive")!.id).toMatchObject({ type: "s3", name: "archive" });
    expect(config.exporters.get("bullmq")!.config).toMatchObject({ redis: { url: "redis://127.0.0.1:6379" }, delay: "auto", ingestion_delay: 15_000 });
    expect((config.processors.get("auth")!.config as { keys: Array<{ secret_key: string }> }).keys[0]!.secret_key).toBe("sk");
    expect(config.shutdownTimeoutMs).toBe(25_000);
    expect(config.heapGrowthPercent).toBe(HEAP_GROWING_PERCENT);
  });

  it("takes service.heap_growth_percent within 10-400 and names the setting otherwise", () => {
    const withGrowth = (value: string) => VALID.replace("service:\n", `service:\n  heap_growth_percent: ${value}\n`);
    expect(loadConfigText(withGrowth("150"), { env: { SECRET: "sk" } }).heapGrowthPercent).toBe(150);
    const problems = problemsOf(withGrowth("1000"), { SECRET: "sk" });
    expect(problems.map(formatProblem)).toEqual([expect.stringMatching(/^test\.yaml:28:24: service::heap_growth_percent: .*400/)]);
  });

  it("reports an unset variable without default at its line and column", () => {
    const problems = problemsOf(VALID);
    expect(problems).toHaveLength(1);
    expect(formatProblem(problems[0]!)).toBe(
      "test.yaml:11:21: processors::auth::keys::0::secret_key: environment variable SECRET is unset or empty and the reference has no default (write ${env:SECRET:-value})",
    );
  });

  it("lists every problem at once, each located, with did-you-mean hints", () => {
    const yaml = `
receivers:
  otlp:
    htpp: { endpoint: 127.0.0.1:4318 }
  langfus: {}
processors:
  validate: {}
  auth:
    keys:
      - public_key: pk
        secret_key: sk
        project_id: p1
exporters:
  s3:
    bukcet: langfuse
  bullmq:
    redis: { url: "redis://x:1" }
    delay: soon
service:
  pipelines:
    events:
      receivers: [otlp]
      processors: [validate, auht]
      exporters: [s3, bulmq]
`;
    const text = problemsOf(yaml).map(formatProblem);
    expect(text).toEqual([
      'test.yaml:4:5: receivers::otlp::htpp: unknown key "htpp" (did you mean "http"?)',
      expect.stringMatching(/^test\.yaml:4:5: receivers::otlp: enable at least one protocol/),
      'test.yaml:5:3: receivers::langfus: unknown receiver type "langfus" (did you mean "langfuse"?); known: otlp, langfuse',
      "test.yaml:14:3: exporters::s3::bucket: required (expected string, received undefined)",
      'test.yaml:15:5: exporters::s3::bukcet: unknown key "bukcet" (did you mean "bucket"?)',
      "test.yaml:18:12: exporters::bullmq::delay: expected auto or a duration such as 0ms or 2s",
      'test.yaml:23:30: service::pipelines::events::processors::1: references processor "auht", which is not configured under processors (did you mean "auth"?)',
      'test.yaml:24:23: service::pipelines::events::exporters::1: references exporter "bulmq", which is not configured under exporters (did you mean "bullmq"?)',
    ]);
  });

  it("checks pipeline references once the components are valid", () => {
    const yaml = VALID.replace("processors: [validate, auth, sort, group]", "processors: [validate, auht, sort]").replace(
      "exporters: [s3, s3/archive, bullmq]",
      "exporters: [s3, bulmq]",
    );
    const text = problemsOf(yaml, { SECRET: "x" }).map(formatProblem);
    expect(text).toEqual([
      'test.yaml:31:30: service::pipelines::events::processors::1: references processor "auht", which is not configured under processors (did you mean "auth"?)',
      'test.yaml:32:23: service::pipelines::events::exporters::1: references exporter "bulmq", which is not configured under exporters (did you mean "bullmq"?)',
    ]);
  });

  it("accepts reordered processors that can work, and says why an order cannot", () => {
    const reordered = VALID.replace("processors: [validate, auth, sort, group]", "processors: [auth, sort, validate, group]");
    expect(() => loadConfigText(reordered, { env: { SECRET: "x" } })).not.toThrow();

    const withSample = (order: string) =>
      VALID.replace("  sort:\n", "  sort:\n  sample:\n    rates: { p1: 0.5 }\n").replace("processors: [validate, auth, sort, group]", `processors: [${order}]`);
    expect(() => loadConfigText(withSample("auth, sample, validate, group, sort"), { env: { SECRET: "x" } })).not.toThrow();

    const sampleFirst = problemsOf(withSample("sample, auth, validate, sort, group"), { SECRET: "x" }).map((problem) => problem.message);
    expect(sampleFirst).toEqual(["sample must come after auth: sampling rates are per project, and the project is known only after auth"]);

    const groupFirst = problemsOf(VALID.replace("processors: [validate, auth, sort, group]", "processors: [group, auth, validate]"), { SECRET: "x" });
    expect(groupFirst.map((problem) => problem.message)).toEqual([
      "group must come after validate: groups are keyed by event type and body id, which validate checks",
    ]);

    const noValidate = problemsOf(VALID.replace("processors: [validate, auth, sort, group]", "processors: [auth, sort]"), { SECRET: "x" });
    expect(noValidate.map((problem) => problem.message)).toEqual([
      "an events pipeline needs the validate processor: Langfuse's worker reads only events in the normalised form validate produces",
    ]);
  });

  it("puts redact before every processor but auth in an events pipeline, and says why", () => {
    const withRedact = (order: string) =>
      VALID.replace("  sort:\n", "  sort:\n  redact: { keys: [password] }\n").replace("processors: [validate, auth, sort, group]", `processors: [${order}]`);
    expect(() => loadConfigText(withRedact("auth, redact, validate, sort, group"), { env: { SECRET: "x" } })).not.toThrow();
    const late = problemsOf(withRedact("validate, auth, sort, redact, group"), { SECRET: "x" }).map((problem) => problem.message);
    expect(late).toEqual([
      "redact must come before validate: in an events pipeline redact works on an OTLP request's spans, before they are converted to events, and validate works on the events",
      "redact must come before sort: in an events pipeline redact works on an OTLP request's spans, before they are converted to events, and sort works on the events",
    ]);
    const first = problemsOf(withRedact("redact, auth, validate, sort, group"), { SECRET: "x" }).map((problem) => problem.message);
    expect(first).toEqual(["redact must come after auth: rules and the masking callback are per project, and the project is known only after auth"]);
  });

  it("never lets a credential header be propagated to jobs", () => {
    const yaml = VALID.replace("  otlp:\n", "  otlp:\n    propagate_headers: [X-Tenant, Authorization]\n");
    expect(problemsOf(yaml, { SECRET: "x" }).map(formatProblem)).toEqual(["test.yaml:4:35: receivers::otlp::propagate_headers::1: credential headers are never propagated"]);
  });

  it("builds otel pipelines and says which components cannot carry raw spans, and why", () => {
    const otel = (processors: string, exporters: string) =>
      VALID.replace("  bullmq:\n", "  langfuse_otel: {}\n  bullmq:\n").replace(
        "service:\n  pipelines:\n",
        `service:\n  pipelines:\n    otel:\n      receivers: [otlp]\n      processors: [${processors}]\n      exporters: [${exporters}]\n`,
      );
    const config = loadConfigText(otel("auth, validate", "s3, langfuse_otel"), { env: { SECRET: "x" } });
    expect(config.pipelines.map((pipeline) => [pipeline.id, pipeline.type])).toEqual([
      ["otel", "otel"],
      ["events", "events"],
    ]);
    const messages = (processors: string, exporters: string) => problemsOf(otel(processors, exporters), { SECRET: "x" }).map((problem) => problem.message);
    expect(messages("auth, validate, sort", "s3, bullmq")).toEqual([
      "sort cannot be used in an otel pipeline, which carries raw OTLP resource spans: it works in events pipelines (Langfuse ingestion events) only",
      "bullmq cannot be used in an otel pipeline, which carries raw OTLP resource spans: it works in events pipelines (Langfuse ingestion events) only; queue exporters for otel pipelines: langfuse_otel",
    ]);
    expect(messages("auth", "s3, langfuse_otel")).toEqual([
      "an otel pipeline needs the validate processor: Langfuse's worker fails on spans without usable ids, and validate refuses such exports as Langfuse does",
    ]);
    expect(messages("auth, validate", "langfuse_otel, s3")).toEqual([
      "langfuse_otel enqueues jobs that point at stored blobs: list a blob exporter (s3, azure_blob or file) before it",
    ]);
    const langfuseOtelInEvents = problemsOf(
      VALID.replace("  bullmq:\n", "  langfuse_otel: {}\n  bullmq:\n").replace("exporters: [s3, s3/archive, bullmq]", "exporters: [s3, langfuse_otel]"),
      { SECRET: "x" },
    ).map(formatProblem);
    expect(langfuseOtelInEvents).toEqual([
      "test.yaml:33:23: service::pipelines::events::exporters::1: langfuse_otel cannot be used in an events pipeline, which carries Langfuse ingestion events: it works in otel pipelines (raw OTLP resource spans) only; queue exporters for events pipelines: bullmq",
    ]);
  });

  it("batches on the pipeline, with the spool on, and tells a config that still lists the batch processor where it went", () => {
    const withBatch = (spool = "") =>
      VALID.replace("      exporters: [s3, s3/archive, bullmq]\n", "      exporters: [s3, s3/archive, bullmq]\n      batch: { flush_at: 500, flush_interval: 2s }\n").replace("service:\n", `service:\n${spool}`);
    const config = loadConfigText(withBatch(), { env: { SECRET: "x" } });
    expect(config.pipelines[0]!.batch).toEqual({ flushAtEvents: 500, flushIntervalMs: 2000 });
    expect(problemsOf(withBatch("  spool: { enabled: false }\n"), { SECRET: "x" }).map((problem) => problem.message)).toEqual([
      "batch needs the spool (service.spool.enabled): it merges requests after they are durable, so it never delays an answer",
    ]);
    const moved =
      "the batch processor was removed: batching belongs to where the pipeline exports now; drop it from the processors and set `batch: { flush_at, flush_interval }` on the pipeline (service.pipelines.<pipeline>.batch)";
    const asProcessor = VALID.replace("  group: {}\n", "  group: {}\n  batch: {}\n").replace("processors: [validate, auth, sort, group]", "processors: [validate, auth, sort, group, batch]");
    expect(problemsOf(asProcessor, { SECRET: "x" }).map((problem) => problem.message)).toEqual([moved, moved]);
  });

  it("requires a blob exporter before bullmq", () => {
    const problems = problemsOf(VALID.replace("exporters: [s3, s3/archive, bullmq]", "exporters: [bullmq, s3]"), { SECRET: "x" });
    expect(problems.map(formatProblem)).toEqual([
      "test.yaml:32:19: service::pipelines::events::exporters::0: bullmq enqueues jobs that point at stored blobs: list a blob exporter (s3, azure_blob or file) before it",
    ]);
  });

  it("reports YAML syntax errors and duplicate keys with their position", () => {
    const problems = problemsOf("receivers:\n  otlp: {}\n  otlp: {}\n");
    expect(problems[0]).toMatchObject({ line: 3, column: 3 });
    expect(problems[0]!.message).toMatch(/unique/i);
    const broken = problemsOf("receivers:\n  otlp: [\n");
    expect(broken.length).toBeGreaterThan(0);
    expect(broken[0]!.line).toBeGreaterThan(0);
  });

  it("reports an alias with no anchor, and an alias bomb, as problems at the alias (found by fuzzing)", () => {
    const unresolved = problemsOf("receivers:\n  otlp: {}\nprocessors:\n  <<: *missing\n");
    expect(unresolved).toHaveLength(1);
    expect(unresolved[0]).toMatchObject({ line: 4, column: 7 });
    expect(unresolved[0]!.message).toMatch(/alias/i);
    const cycle = problemsOf("receivers:\n  otlp: &self [x, *self]\n");
    expect(cycle).toHaveLength(1);
    expect(cycle[0]).toMatchObject({ line: 2, column: 19, message: "an alias refers to a node that contains it (a cycle)" });
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 6; i++) levels.push(`${"bcdef"[i - 1]}: &${"bcdef"[i - 1]} [${Array(10).fill(`*${"abcde"[i - 1]}`).join(", ")}]`);
    const bomb = problemsOf(levels.join("\n") + "\n");
    expect(bomb).toHaveLength(1);
    expect(bomb[0]!.message).toMatch(/alias/i);
    expect(bomb[0]!.line).toBe(2);
  });

  it("refuses unknown pipeline types, component ids and top-level keys", () => {
    const yaml = VALID.replace("    events:\n", "    traces:\n").replace("exporters:\n  s3:", "exporter: {}\nexporters:\n  s3:").replace("  group: {}\n", "  group: {}\n  Bad-Id: {}\n");
    const messages = problemsOf(yaml, { SECRET: "x" }).map((problem) => problem.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        'unknown key "exporter" (did you mean "exporters"?)',
        '"Bad-Id" is not a component id: write type or type/name (lower_snake_case type)',
      ]),
    );
    const pipelineType = problemsOf(VALID.replace("    events:\n", "    traces:\n"), { SECRET: "x" }).map((problem) => problem.message);
    expect(pipelineType).toEqual(['unknown pipeline type "traces"; write events, events/<name>, otel or otel/<name>']);
  });

  it("validates values: credentials pairs, project ids, sizes, durations, endpoints", () => {
    const yaml = `
receivers:
  otlp:
    http: { endpoint: "localhost", max_request_body_size: -5 }
processors:
  validate: {}
  auth:
    keys:
      - public_key: pk
        secret_key: sk
        secret_key_sha256: "abc"
        project_id: "../etc"
exporters:
  s3:
    bucket: b
    access_key_id: only-one
  bullmq: {}
service:
  pipelines:
    events: { receivers: [otlp], processors: [validate, auth], exporters: [s3, bullmq] }
`;
    const messages = problemsOf(yaml).map((problem) => `${problem.path.join(".")}: ${problem.message}`);
    expect(messages).toEqual([
      'receivers.otlp.http.endpoint: expected host:port such as 127.0.0.1:4318, got "localhost"',
      "receivers.otlp.http.max_request_body_size: expected a positive size such as 4.5MiB or 65536, got -5",
      "processors.auth.keys.0: give exactly one of secret_key and secret_key_sha256",
      "processors.auth.keys.0.secret_key_sha256: expected 64 hex characters",
      "processors.auth.keys.0.project_id: project_id must not contain '/', '\\' or control characters, and must not be '.' or '..'",
      "exporters.s3.secret_access_key: give both access_key_id and secret_access_key, or neither to use the default AWS credential chain",
      "exporters.s3.bucket: bucket names have at least 3 characters",
    ]);
  });
});

describe("environment expansion", () => {
  it("expands references in values and keys, with defaults and $$ escapes", () => {
    const problems: ConfigProblem[] = [];
    const value = expandEnvironment(
      { a: "${env:A}", b: "x-${env:B:-fallback}-y", c: "$${env:A}", d: ["${env:A}"], "${env:K}": 1, n: 5 },
      { A: "alpha", K: "key" },
      problems,
    );
    expect(value).toEqual({ a: "alpha", b: "x-fallback-y", c: "${env:A}", d: ["alpha"], key: 1, n: 5 });
    expect(problems).toEqual([]);
  });

  it("reads ${file:...} references (Kubernetes Secret files), trailing newline removed", () => {
    const directory = mkdtempSync(join(tmpdir(), "lor-secret-"));
    writeFileSync(join(directory, "secret"), "sk-from-file\n");
    const problems: ConfigProblem[] = [];
    const value = expandEnvironment({ a: `\${file:${join(directory, "secret")}}`, b: "${file:/no/such/file:-fallback}", c: "${file:/no/such/file}" }, {}, problems);
    expect(value).toEqual({ a: "sk-from-file", b: "fallback", c: "" });
    expect(problems.map((problem) => problem.message)).toEqual(["file /no/such/file is missing, unreadable or empty and the reference has no default"]);
    rmSync(directory, { recursive: true, force: true });
  });

  it("treats an empty variable like an unset one", () => {
    const problems: ConfigProblem[] = [];
    expect(expandEnvironment({ a: "${env:A:-d}" }, { A: "" }, problems)).toEqual({ a: "d" });
    expandEnvironment({ a: "${env:A}" }, { A: "" }, problems);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path).toEqual(["a"]);
  });
});
