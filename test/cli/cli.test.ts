import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rename, rm, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { waitFor } from "../support/redis-server.js";
import { DaemonProcess } from "../support/daemon-process.js";
import { fileTree } from "../support/file-tree.js";
import { testRedis, type TestRedis } from "../support/redis.js";
import { basicAuth } from "../support/daemon.js";
import { resourceSpans, span, toJson } from "../support/otlp.js";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
/** What `npx langfuse-otel-receiver` runs: the package's bin entry. */
const BIN_SCRIPT = join(ROOT, "dist/src/cli.js");
/** Where the daemon reads the cgroup file system from, for `workers: auto` (src/cpu-quota.ts). */
const CGROUP_ROOT_ENV = "LOR_CGROUP_ROOT";

/** The command users run: the package's bin, built by `npm ci` (prepare) and by the test global setup. */
let folder: string;
let redis: TestRedis;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "lor-cli-"));
  redis = testRedis();
}, 120_000);

afterAll(async () => {
  await redis?.cleanup();
  await rm(folder, { recursive: true, force: true });
});

/** A serving config: OTLP/HTTP on a free port into files and the test Redis; blobs in `<name>/` under `folder`. */
function servingConfig(name: string, metrics: string, serviceExtra = ""): string {
  const directory = name === "run" ? folder : join(folder, name);
  return `receivers:
  otlp:
    http: { endpoint: 127.0.0.1:0 }
processors:
  validate: {}
  auth: { keys: [{ public_key: pk, secret_key: sk, project_id: p }] }
exporters:
  file: { directory: ${join(directory, "blobs")}, prefix: events/ }
  bullmq: { redis: { url: redis://127.0.0.1:6379, key_prefix: ${redis.keyPrefix} } }
service:
  ${serviceExtra}
  telemetry: { health: { endpoint: 127.0.0.1:0 }, ${metrics} }
  spool: { directory: ${join(directory, "spool")} }
  pipelines:
    events: { receivers: [otlp], processors: [validate, auth], exporters: [file, bullmq] }
`;
}

async function cli(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN_SCRIPT, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

describe("langfuse-otel-receiver usage", () => {
  it("prints the version, help with examples and exit codes, and refuses unknown commands with 2", async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    expect(await cli(["version"])).toMatchObject({ code: 0, stdout: `${version}\n` });
    expect(await cli(["--version"])).toMatchObject({ code: 0, stdout: `${version}\n` });
    const help = await cli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Examples:");
    expect(help.stdout).toContain("Exit codes:");
    const unknown = await cli(["frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
  });
});

describe("langfuse-otel-receiver validate", () => {
  it("runs through npx in the project, as the README says", async () => {
    const { stdout } = await run("npx", ["langfuse-otel-receiver", "validate", "--config", "config/pipeline.yaml"], { cwd: ROOT });
    expect(stdout).toBe("config/pipeline.yaml: configuration is valid\n");
  });

  it("accepts the default config and the shipped examples", async () => {
    const examples = (await readdir(join(ROOT, "config/examples"))).filter((name) => !name.endsWith(".tests.yaml"));
    for (const file of ["config/pipeline.yaml", ...examples.map((name) => `config/examples/${name}`)]) {
      const result = await cli(["validate", "--config", file], {
        LANGFUSE_PUBLIC_KEY: "pk",
        LANGFUSE_SECRET_KEY: "sk",
        LANGFUSE_SECRET_KEY_SHA256: "0".repeat(64),
        LANGFUSE_PROJECT_ID: "p",
        S3_ACCESS_KEY_ID: "a",
        S3_SECRET_ACCESS_KEY: "b",
        AZURE_BLOB_ENDPOINT: "https://acct.blob.core.windows.net",
        AZURE_STORAGE_ACCOUNT: "acct",
        AZURE_STORAGE_KEY: "a2V5",
        GCS_HMAC_ACCESS_ID: "a",
        GCS_HMAC_SECRET: "b",
      });
      expect(result, file).toMatchObject({ code: 0, stdout: `${file}: configuration is valid\n` });
    }
  });

  it("lists every problem with file, line and column and exits non-zero", async () => {
    const file = join(folder, "bad.yaml");
    await writeFile(
      file,
      [
        "receivers:",
        "  otlp:",
        "    http: { endpoint: 127.0.0.1:4318 }",
        "processors:",
        "  auth:",
        "    keys: [{ public_key: pk, secret_key: sk, project_id: p }]",
        "  validate: {}",
        "  sample: { rates: { p: 2 } }",
        "  group: {}",
        "exporters:",
        "  bullmq: {}",
        "  file: { directory: /tmp/x, fsinc: true }",
        "service:",
        "  pipelines:",
        "    events:",
        "      receivers: [otlp]",
        "      processors: [group, validate, auth]",
        "      exporters: [bullmq]",
        "",
      ].join("\n"),
    );
    const result = await cli(["validate", "--config", file]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split("\n")).toEqual([
      `${file}:8:25: processors::sample::rates::p: Too big: expected number to be <=1`,
      `${file}:12:30: exporters::file::fsinc: unknown key "fsinc" (did you mean "fsync"?)`,
      `${file}:17:20: service::pipelines::events::processors::0: group must come after validate: groups are keyed by event type and body id, which validate checks`,
      `${file}:18:19: service::pipelines::events::exporters::0: bullmq enqueues jobs that point at stored blobs: list a blob exporter (s3, azure_blob or file) before it`,
      "4 problems found",
    ]);
  });

  it("explains an order that cannot work", async () => {
    const file = join(folder, "order.yaml");
    await writeFile(
      file,
      `receivers: { otlp: { http: {} } }
processors:
  auth: { keys: [{ public_key: pk, secret_key: sk, project_id: p }] }
  validate: {}
  group: {}
exporters:
  file: { directory: ${folder} }
service:
  pipelines:
    events: { receivers: [otlp], processors: [group, validate, auth], exporters: [file] }
`,
    );
    const result = await cli(["validate", "--config", file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `${file}:10:47: service::pipelines::events::processors::0: group must come after validate: groups are keyed by event type and body id, which validate checks\n1 problem found\n`,
    );
  });

  it("reports a missing file", async () => {
    const result = await cli(["validate", "--config", join(folder, "missing.yaml")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("file not found");
  });
});

describe("langfuse-otel-receiver test", () => {
  it("runs the shipped pipeline tests offline", async () => {
    const result = await cli(["test", "config/examples/pipeline.tests.yaml"]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split("\n").at(-1)).toBe("3 passed, 0 failed");
  });

  it("runs the shipped privacy example's redact and filter tests offline", async () => {
    const env = { LANGFUSE_PUBLIC_KEY: "pk-lf-example", LANGFUSE_SECRET_KEY: "sk-lf-example", LANGFUSE_PROJECT_ID: "example", S3_ACCESS_KEY_ID: "unused", S3_SECRET_ACCESS_KEY: "unused" };
    const result = await cli(["test", "config/examples/privacy.tests.yaml"], env);
    expect(result.stdout, result.stdout).toMatch(/3 passed, 0 failed\n$/);
    expect(result.code).toBe(0);
  });

  it("reports what differs and exits non-zero when a case fails", async () => {
    const file = join(folder, "failing.tests.yaml");
    await writeFile(
      file,
      `config: ${join(ROOT, "config/pipeline.yaml")}
tests:
  - name: expects the wrong environment
    public_key: pk-lf-local
    secret_key: sk-lf-local
    input:
      ingestion:
        - { id: e1, type: trace-create, timestamp: "2026-01-01T00:00:00Z", body: { id: t1, environment: Staging } }
    expect:
      events:
        - { body: { environment: production } }
`,
    );
    const result = await cli(["test", file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('FAIL  expects the wrong environment\n      events[0].body.environment: expected "production", got "staging"\n0 passed, 1 failed\n');
  });
});

describe("langfuse-otel-receiver test, otel pipelines", () => {
  it("runs the processors on raw spans: counts spans, refuses an export with a span without ids and spans sent with a Bearer key", async () => {
    const file = join(folder, "otel.tests.yaml");
    const spans = (traceIds: string[]) =>
      traceIds.map((traceId, index) => `{ traceId: ${traceId}, spanId: "${String(index + 1).padStart(16, "0")}", name: op }`).join(", ");
    await writeFile(
      file,
      `config: ${join(ROOT, "config/examples/langfuse-v4.yaml")}
tests:
  - name: both spans pass
    pipeline: otel
    public_key: pk
    secret_key: sk
    input: { otlp: { resourceSpans: [{ scopeSpans: [{ scope: { name: lib }, spans: [${spans(["abc123", "abc123"])}] }] }] } }
    expect: { count: 2 }
  - name: a span without a spanId refuses the whole export
    pipeline: otel
    public_key: pk
    secret_key: sk
    input: { otlp: { resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: abc123, name: op }] }] }] } }
    expect: { refused: invalid }
  - name: a Bearer key may not send spans
    pipeline: otel
    authorization: Bearer pk
    input: { otlp: { resourceSpans: [{ scopeSpans: [{ spans: [${spans(["abc123"])}] }] }] } }
    expect: { refused: forbidden }
`,
    );
    const result = await cli(["test", file], { LANGFUSE_PUBLIC_KEY: "pk", LANGFUSE_SECRET_KEY: "sk", LANGFUSE_PROJECT_ID: "p", S3_ACCESS_KEY_ID: "a", S3_SECRET_ACCESS_KEY: "b" });
    expect(result.stdout, result.stdout).toMatch(/3 passed, 0 failed\n$/);
    expect(result.code).toBe(0);
  });
});

describe("langfuse-otel-receiver run", () => {
  it("serves, then stops cleanly on SIGTERM with exit code 0", async () => {
    const file = join(folder, "run.yaml");
    const blobs = join(folder, "blobs");
    await writeFile(file, servingConfig("run", "metrics: { endpoint: 127.0.0.1:0 }", "workers: 2"));
    const daemon = new DaemonProcess(file, { LOG_LEVEL: "debug" });
    await daemon.start();
    await waitFor(() => daemon.output.includes('"metrics"'), 20_000, "the main process to report its metrics endpoint");
    const output = () => daemon.output;
    const response = await fetch(`http://${daemon.address()}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: basicAuth("pk", "sk") },
      body: toJson(resourceSpans([span({ traceId: "0000000000000000000000000000c11e" })])),
    });
    expect(response.status).toBe(200);
    // Acknowledged once spooled; the export follows in the background.
    await waitFor(async () => (await redis.jobs()).length === 2, 10_000, "the spooled request to be exported");
    expect(await readdir(join(blobs, "events/p/trace/0000000000000000000000000000c11e"))).toHaveLength(1);

    // With several workers, the primary sums their counters.
    const started = output().split("\n").find((line) => line.includes('"msg":"daemon started"') && line.includes('"metrics"'))!;
    const metricsUrl = JSON.parse(started).metrics as string;
    const scraped = await (await fetch(metricsUrl)).text();
    expect(scraped).toMatch(/langfuse_otel_receiver_receiver_requests_total\{[^}]*outcome="accepted"[^}]*\} 1\n/);

    expect(await daemon.stop("SIGTERM")).toBe(0);
    expect(output()).toContain('"msg":"daemon stopped"');
    // Each request is logged at debug level with its context...
    const requestLog = output().split("\n").find((line) => line.includes('"msg":"request"'));
    expect(JSON.parse(requestLog!)).toMatchObject({ receiver: "otlp", transport: "http", outcome: "accepted", project: "p", spans: 1, rejected: 0 });
    // ...and logs never carry the credentials the client sent.
    expect(output()).not.toContain(basicAuth("pk", "sk").split(" ")[1]);
  });

  it("with workers: auto and no CPU quota, runs one process and says how to run more", async () => {
    const file = join(folder, "auto.yaml");
    await writeFile(file, servingConfig("auto", "metrics: { enabled: false }", "workers: auto"));
    // A container without a CPU limit, whatever the host's own cgroup says.
    const daemon = new DaemonProcess(file, { [CGROUP_ROOT_ENV]: fileTree({ "cpu.max": "max 100000\n" }) });
    await daemon.start();
    const [decision] = daemon.output.split("\n").filter((line) => line.includes("workers: auto"));
    expect(JSON.parse(decision!)).toMatchObject({ workers: 1, msg: "workers: auto: no CPU quota found, so one worker; set service.workers to use more" });
    expect(readFileSync(`/proc/${daemon.pid}/task/${daemon.pid}/children`, "utf8").trim()).toBe("");
    expect(await daemon.stop("SIGTERM")).toBe(0);
  });

  it("with workers: auto and a CPU quota, runs one worker per CPU of the quota, rounded up", async () => {
    const file = join(folder, "auto-quota.yaml");
    await writeFile(file, servingConfig("auto-quota", "metrics: { enabled: false }", "workers: auto"));
    const daemon = new DaemonProcess(file, { [CGROUP_ROOT_ENV]: fileTree({ "cpu.max": "150000 100000\n" }) });
    await daemon.start();
    const expected = Math.min(2, availableParallelism());
    await waitFor(() => daemon.output.includes(`"workers":${expected},"receivers"`) || (expected === 1 && daemon.output.includes('"msg":"daemon started"')), 20_000, "every worker to start");
    const [decision] = daemon.output.split("\n").filter((line) => line.includes("workers: auto"));
    expect(JSON.parse(decision!)).toMatchObject({ workers: expected, cpuQuota: 1.5 });
    expect(await daemon.stop("SIGTERM")).toBe(0);
  });

  it("with several workers, reports a config's problems once, located, and starts no worker", async () => {
    const file = join(folder, "broken-workers.yaml");
    await writeFile(file, servingConfig("broken-workers", "metrics: { enabled: false }", "workers: 2").replace("processors: [validate, auth]", "processors: [auth, validate, bogus]"));
    const result = await cli(["run", "--config", file]);
    expect(result.code).toBe(1);
    // Checked in the primary (in a thread) before any worker starts: reported once, located.
    expect(result.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(new RegExp(`^${file}:\\d+:\\d+: service::pipelines::events::processors::2: references processor "bogus", which is not configured under processors$`)),
    ]);
    expect(result.stdout).not.toContain('"worker"');
  });

  it("exits 0 on a SIGTERM that arrives while its workers are still starting", async () => {
    const file = join(folder, "early-stop.yaml");
    await writeFile(file, servingConfig("early-stop", "metrics: { enabled: false }", "workers: 2"));
    const daemon = new DaemonProcess(file);
    const child = daemon.launch();
    // The first worker is up; the other may still be loading or starting (before the fix, a worker
    // in that state died of the signal and the daemon exited 1).
    await waitFor(() => daemon.output.includes("OTLP receiver listening") || child.exitCode !== null, 20_000, "a worker to listen");
    expect(await daemon.stop("SIGTERM"), daemon.output).toBe(0);
    expect(daemon.output).not.toContain("worker died");
  });
});

describe("live reload", () => {
  it("reloads the processor chain when the file changes or on SIGHUP; a file with problems leaves the running one in place", async () => {
    const file = join(folder, "reload.yaml");
    const blobs = join(folder, "reload-blobs");
    const config = (processors: string, extra = "") => `receivers:
  otlp:
    http: { endpoint: 127.0.0.1:0 }
processors:
  validate: {}
  auth: { keys: [{ public_key: pk, secret_key: sk, project_id: p }] }
  sample: { rates: { p: 0 } }
${extra}exporters:
  file: { directory: ${blobs}, prefix: events/ }
  bullmq: { redis: { url: redis://127.0.0.1:6379, key_prefix: ${redis.keyPrefix}-reload } }
service:
  workers: 2
  telemetry: { health: { endpoint: 127.0.0.1:0 }, metrics: { endpoint: 127.0.0.1:0 } }
  spool: { directory: ${join(folder, "reload-spool")} }
  reload: { poll_interval: 100ms }
  pipelines:
    events: { receivers: [otlp], processors: [${processors}], exporters: [file, bullmq] }
`;
    await writeFile(file, config("validate, auth"));
    const daemon = new DaemonProcess(file);
    await daemon.start();
    await waitFor(() => daemon.output.includes('"metrics"'), 20_000, "the main process to report its metrics endpoint");
    const address = daemon.address();
    const count = (text: string) => daemon.output.split(text).length - 1;
    const send = async (traceId: string) => {
      const response = await fetch(`http://${address}/v1/traces`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: basicAuth("pk", "sk") },
        body: toJson(resourceSpans([span({ traceId })])),
      });
      expect(response.status).toBe(200);
    };
    // Replaced whole, as a ConfigMap update does (a new file under the same name).
    const replaceConfig = async (content: string) => {
      await writeFile(`${file}.next`, content);
      await rename(`${file}.next`, file);
    };
    const stored = async (traceId: string) => (await readdir(join(blobs, "events/p/trace")).catch(() => [] as string[])).includes(traceId);

    await send("000000000000000000000000000000a1");
    await waitFor(() => stored("000000000000000000000000000000a1"), 10_000, "the first trace to be exported");

    // The file changes: sampling at rate 0, in a new order. Every worker reloads.
    await replaceConfig(config("auth, sample, validate"));
    await waitFor(() => count('"msg":"configuration reloaded"') >= 2, 10_000, "the workers to reload");
    await send("000000000000000000000000000000a2");
    await send("000000000000000000000000000000a3");

    // A broken file is refused with its location; the running chain stays.
    await replaceConfig(config("auth, sample, validate", "  bogus_processor: {}\n"));
    await waitFor(() => daemon.output.includes(`${file}:8:3: processors::bogus_processor: unknown processor type`), 10_000, "the broken file to be refused");
    expect(daemon.output).toContain("configuration not reloaded: the file has problems; the running configuration stays");
    await send("000000000000000000000000000000a4");

    // SIGHUP to the main process reloads every worker too (here: the same valid chain again).
    await replaceConfig(config("validate, auth"));
    await waitFor(() => count('"msg":"configuration reloaded"') >= 4, 10_000, "the file reload");
    daemon.signal("SIGHUP");
    await waitFor(() => count('"msg":"configuration reloaded"') >= 6, 10_000, "the SIGHUP reload of both workers");
    await send("000000000000000000000000000000a5");
    await waitFor(() => stored("000000000000000000000000000000a5"), 10_000, "the last trace to be exported");
    // Sampled out while the rate-0 chain ran, stored before and after it.
    for (const traceId of ["000000000000000000000000000000a2", "000000000000000000000000000000a3", "000000000000000000000000000000a4"]) {
      expect(await stored(traceId)).toBe(false);
    }

    expect(await daemon.stop("SIGTERM")).toBe(0);
  });
});
