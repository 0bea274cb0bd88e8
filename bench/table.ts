/** The report: the machine, then one markdown table of scenarios and floors, then how to read it. */
import type { Floor } from "./floors.js";
import type { IdleResult } from "./idle.js";
import type { DaemonMemory } from "./memory.js";
import { settings } from "./settings.js";
import type { ScenarioResult } from "./scenario.js";
import { BATCH_FLUSH_AT, daemonNodeFlags } from "./daemon.js";
import { PAYLOAD_EMAIL, STREAM_NAME_PREFIX, STREAM_SPANS_PER_REQUEST, SPANS_PER_REQUEST } from "./payload.js";
import type { PrivacyVariant } from "./settings.js";

export interface Machine {
  nproc: number;
  cpuModel: string;
  node: string;
  date: string;
  redis: string;
  daemonPinning: string;
  helperPinning: string;
  settings: string;
  payload: string;
  elapsedSeconds?: number;
  /** Share of the machine's CPU time the hypervisor took (steal) during the run. */
  stealPercent?: number;
}

const integer = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "—");
const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : "—");
const cell = (text: string) => text.replaceAll("|", "\\|");

function failures(record: Record<string, number>): string {
  const entries = Object.entries(record);
  return entries.length === 0 ? "" : entries.map(([status, count]) => `${count}× ${status}`).join(", ");
}

const PATH_LABELS: Record<ScenarioResult["path"], string> = {
  events: "",
  raw: "raw path: ",
  split: "traces in 2 requests: ",
  batch: "traces in 2 requests, + batch: ",
};

function scenarioLabel(result: ScenarioResult): string {
  return `${PATH_LABELS[result.path]}${result.encoding} → ${result.target}${result.workers > 1 ? `, ${result.workers} workers (unpinned)` : ""}`;
}

function scenarioRow(result: ScenarioResult): string[] {
  const notes: string[] = [
    `daemon ${fixed(result.daemonCpuPercent, 0)} % of a core (load gen ${fixed(result.loadCpuPercent, 0)} %, ${result.target} ${fixed(result.targetCpuPercent, 0)} %, Redis ${fixed(result.redisCpuPercent, 0)} %)`,
    `loop paced ${fixed(result.pausedShare * 100, 0)} % of the window`,
    result.drained
      ? `acked ${integer(result.ackedSpansPerSecond)}/s; backlog ${integer(result.backlogSpansAtStop)} spans at stop, drained in ${fixed(result.drainMs / 1000, 1)} s`
      : `acked ${integer(result.ackedSpansPerSecond)}/s; backlog NOT drained within the timeout (rate counts exported spans only)`,
    `closed-loop p50 ${fixed(result.closedP50Ms, 0)} ms`,
    `open loop ${fixed(result.open.requestsPerSecond, 1)} req/s, n=${result.open.samples}${result.open.drained ? "" : ", export fell behind"}`,
    `daemon-side p99 ≈ ${fixed(result.open.daemonP99Ms, 0)} ms, ${fixed(result.open.daemonWithin50MsShare * 100, 1)} % answered within 50 ms, event-loop delay p99 ${fixed(result.open.eventLoopDelayP99Ms, 0)} ms / max ${fixed(result.open.eventLoopDelayMaxMs, 0)} ms`,
  ];
  const failed = failures(result.failures);
  if (failed) notes.push(`closed-loop refusals: ${failed}`);
  const openFailed = failures(result.open.failures);
  if (openFailed) notes.push(`open-loop refusals: ${openFailed}`);
  if (result.open.lateStarts > 0) notes.push(`${result.open.lateStarts} open-loop send${result.open.lateStarts === 1 ? "" : "s"} started > 5 ms late`);
  return [
    scenarioLabel(result),
    `${integer(result.sustainedSpansPerSecond)} spans/s`,
    `${fixed(result.daemonCpuMicrosPerSpan, 0)} µs/span`,
    `${fixed(result.open.p50Ms, 1)} / ${fixed(result.open.p99Ms, 1)} ms`,
    `${fixed(result.peakRssBytes / 1024 ** 2, 0)} MiB`,
    `${fixed(result.blobsPerSpan, 3)} / ${fixed(result.jobsPerSpan, 3)} / ${fixed(result.redisCallsPerSpan, 1)} (${fixed(result.redisSentPerSpan, 2)} sent)`,
    notes.join("; "),
  ];
}

function floorRow(floor: Floor): string[] {
  return [floor.name, floor.throughput, `${fixed(floor.cpuMicros, floor.cpuMicros < 10 ? 2 : 0)} µs/${floor.unit}`, "—", "—", "—", floor.note];
}

const mib = (bytes: number) => `${fixed(bytes / 1024 ** 2, 0)} MiB`;

/**
 * Rows of one daemon's processes: `first` and `second` are two readings of the same daemon (by
 * process name), `second` read as the peak or as the resident size. With several processes, a
 * last row gives the daemon as `memory_limit` counts it (first) and the sum of the peaks.
 */
function processRows(label: string, first: DaemonMemory, second: DaemonMemory, secondIs: "peak" | "resident"): string[][] {
  const rows = first.processes.map((process, index) => {
    const later = second.processes.find((candidate) => candidate.name === process.name);
    const value = later === undefined ? Number.NaN : secondIs === "peak" ? later.peakBytes : later.rssBytes;
    return [index === 0 ? label : "", process.name, mib(process.rssBytes), mib(value)];
  });
  if (first.processes.length > 1) {
    const secondTotal = secondIs === "peak" ? second.processes.reduce((sum, process) => sum + process.peakBytes, 0) : second.totalBytes;
    rows.push(["", "all, as `memory_limit` counts them", mib(first.totalBytes), secondIs === "peak" ? `≤ ${mib(secondTotal)} (sum of peaks)` : mib(secondTotal)]);
  }
  return rows;
}

/** Resident memory per process: idle (no traffic at all) and per scenario (idle after start, peak under load). */
function memoryTables(scenarios: readonly ScenarioResult[], idle: readonly IdleResult[]): string[][][] {
  const tables: string[][][] = [];
  if (idle.length > 0) {
    const header = ["idle daemon (events path, no traffic)", "process", "resident once all started (VmRSS)", `resident ${settings.idleMs / 1000} s later (VmRSS)`];
    tables.push([header, header.map(() => "---"), ...idle.flatMap((result) => processRows(`${result.workers} worker${result.workers === 1 ? "" : "s"}`, result.atStart, result.afterIdle, "resident"))]);
  }
  if (scenarios.length > 0) {
    const header = ["scenario", "process", "idle once all started (VmRSS)", "peak (VmHWM)"];
    tables.push([header, header.map(() => "---"), ...scenarios.flatMap((result) => processRows(scenarioLabel(result), result.memoryAtStart, result.memoryAtEnd, "peak"))]);
  }
  return tables;
}

/**
 * Two floors that depend on the host alone, not on the daemon: machines of the same kind (2 vCPUs)
 * have given the same code figures 2-3× apart on different days, so runs are compared by these first.
 */
function hostSpeedLine(floors: readonly Floor[]): string | undefined {
  const sdkPut = floors.find((floor) => floor.name === "floor: S3 PUT, plain @aws-sdk/client-s3 → sink");
  const decode = floors.find((floor) => floor.name === "floor: decode, plain protobufjs");
  if (sdkPut === undefined || decode === undefined) return undefined;
  return (
    `Host speed (floors below, daemon-independent): a plain AWS SDK PutObject costs ${integer(sdkPut.cpuMicros)} µs of CPU and plain protobufjs decodes ${decode.throughput} on one core. ` +
    "Hosts of this 2-vCPU kind have measured 308-1,012 µs and 32,000-90,000 spans/s on different days; the issue's reference figures are about 1,000 µs and 49,000 spans/s. Compare runs on these before comparing scenarios."
  );
}

// --- redact and filter ---------------------------------------------------------------------------

const PRIVACY_LABELS: Record<PrivacyVariant, string> = {
  none: "without",
  redact: "+ redact",
  redact_found: "+ redact, 1 address per request",
  filter: "+ filter (drops half)",
};

/**
 * The issue's targets (#20, point 4), reported, never asserted, and judged on CPU per received
 * span (the daemon is CPU-bound on one core in these runs, so the throughput it keeps is the
 * inverse of its CPU ratio; the measured sustained rates move with whatever else the host runs).
 */
function privacyTarget(variant: PrivacyVariant, path: ScenarioResult["path"]): { text: string; met: (cpuRatio: number) => boolean } {
  if (variant === "filter") return { text: "CPU per received span not above without (ratio ≤ 1)", met: (cpuRatio) => cpuRatio <= 1 };
  const floor = path === "raw" ? 0.5 : 0.7;
  return { text: `throughput kept ≥ ${floor * 100} % (CPU ratio ≤ ${fixed(1 / floor, 2)})`, met: (cpuRatio) => 1 / cpuRatio >= floor };
}

const percent = (ratio: number) => (Number.isFinite(ratio) ? `${Math.round(ratio * 100)} %` : "—");
const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);

function pairKey(result: ScenarioResult): string {
  return `${result.path === "raw" ? "raw" : "events"} path, ${result.encoding} → ${result.target}`;
}

/**
 * The redact and filter runs: one row per run, then one per pair (a processor against the run
 * without it in the same round, same path, encoding and target): throughput kept and CPU per
 * received span, with ÷ without, per round and on average, and the issue's target.
 */
export function renderPrivacy(results: readonly ScenarioResult[]): string[] {
  if (results.length === 0) return [];
  const line = (cells: string[]) => `| ${cells.map(cell).join(" | ")} |`;
  const out: string[] = [
    "",
    "## redact and filter: cost against the same load without them",
    "",
    `Each run sends the same request: the bench payload with the odd children of each trace named \`${STREAM_NAME_PREFIX}<model>\` (${STREAM_SPANS_PER_REQUEST} of ${SPANS_PER_REQUEST} spans, never a root); \`redact_found\` adds one e-mail address (\`${PAYLOAD_EMAIL}\`) to one span's user message in every request. ` +
      "Pipelines: events `[auth, validate, sort, group]` without, `[auth, redact | filter, validate, sort, group]` with; raw `[auth, validate]` without, `[auth, redact | filter, validate]` with. " +
      `\`redact: {}\` (every built-in detector; the plain payload holds nothing they match); \`filter\` drops spans named \`${STREAM_NAME_PREFIX}…\`. ` +
      "Closed loop only (no latency phase). Spans are counted as received: the spans a filter drops count as handled (the client's view), so its CPU per span is per received span.",
    "",
  ];
  const header = ["path", "run", "round", "sustained (received spans/s)", "daemon CPU per received span", "daemon % of a core", "objects / jobs per span", "stored bytes per span", "peak RSS", "notes"];
  out.push(line(header), line(header.map(() => "---")));
  for (const result of results) {
    const notes: string[] = [];
    const failed = failures(result.failures);
    if (failed) notes.push(`refusals: ${failed}`);
    if (!result.drained) notes.push("backlog NOT drained within the timeout");
    notes.push(`loop paced ${fixed(result.pausedShare * 100, 0)} % of the window`);
    out.push(
      line([
        pairKey(result),
        PRIVACY_LABELS[result.privacy ?? "none"],
        String(result.round ?? 1),
        integer(result.sustainedSpansPerSecond),
        `${fixed(result.daemonCpuMicrosPerSpan, 1)} µs`,
        `${fixed(result.daemonCpuPercent, 0)} %`,
        `${fixed(result.blobsPerSpan, 3)} / ${fixed(result.jobsPerSpan, 3)}`,
        integer(result.storedBytesPerSpan),
        `${fixed(result.peakRssBytes / 1024 ** 2, 0)} MiB`,
        notes.join("; "),
      ]),
    );
  }

  const summary = [
    "pair",
    "rounds",
    "CPU per received span without → with (means)",
    "CPU with ÷ without, per round",
    "mean CPU ratio (throughput kept at that cost)",
    "sustained with ÷ without, per round (measured)",
    "target",
    "verdict (on CPU)",
  ];
  out.push("", line(summary), line(summary.map(() => "---")));
  const keys = [...new Set(results.map(pairKey))];
  for (const key of keys) {
    const ofKey = results.filter((result) => pairKey(result) === key);
    const variants = [...new Set(ofKey.map((result) => result.privacy ?? "none"))].filter((variant) => variant !== "none");
    for (const variant of variants) {
      const cpuRatios: number[] = [];
      const kept: number[] = [];
      const cpuWithout: number[] = [];
      const cpuWith: number[] = [];
      for (const withIt of ofKey.filter((result) => result.privacy === variant)) {
        const without = ofKey.find((result) => result.privacy === "none" && result.round === withIt.round);
        if (without === undefined) continue;
        cpuWithout.push(without.daemonCpuMicrosPerSpan);
        cpuWith.push(withIt.daemonCpuMicrosPerSpan);
        cpuRatios.push(withIt.daemonCpuMicrosPerSpan / without.daemonCpuMicrosPerSpan);
        kept.push(withIt.sustainedSpansPerSecond / without.sustainedSpansPerSecond);
      }
      if (cpuRatios.length === 0) continue;
      const path = ofKey[0]!.path;
      const target = privacyTarget(variant, path);
      const meanCpu = mean(cpuRatios);
      const rounds = cpuRatios.map((ratio) => target.met(ratio));
      const verdict = target.met(meanCpu)
        ? rounds.every(Boolean)
          ? "met"
          : `met on the mean, not in round ${rounds.flatMap((ok, index) => (ok ? [] : [index + 1])).join(", ")}`
        : rounds.some(Boolean)
          ? `not met on the mean (met in round ${rounds.flatMap((ok, index) => (ok ? [index + 1] : [])).join(", ")})`
          : "not met";
      out.push(
        line([
          `${key}: ${PRIVACY_LABELS[variant]}`,
          String(cpuRatios.length),
          `${fixed(mean(cpuWithout), 1)} → ${fixed(mean(cpuWith), 1)} µs`,
          cpuRatios.map((ratio) => fixed(ratio, 2)).join(", "),
          `${fixed(meanCpu, 2)} (${percent(1 / meanCpu)})`,
          kept.map(percent).join(", "),
          target.text,
          verdict,
        ]),
      );
    }
  }
  out.push(
    "",
    "- **CPU with ÷ without** compares runs of the same round (runs alternate within a round, the order reversed every other round), so a slower moment of the host weighs on both sides of a pair more than on one; the spread over rounds is the noise to read the ratio against. The daemon is the limit in these runs (one core), so the throughput it keeps with a processor is the inverse of the CPU ratio; the targets are judged on that. **Sustained with ÷ without** is the measured rate ratio: it says the same where the daemon had its core to itself (near 100 % of a core in the runs above), and moves with whatever else the host ran where it did not.",
  );
  return out;
}

export function renderReport(
  machine: Machine,
  scenarios: readonly ScenarioResult[],
  floors: readonly Floor[],
  skipped: readonly string[],
  idle: readonly IdleResult[] = [],
  privacy: readonly ScenarioResult[] = [],
): string {
  const header = ["scenario", "sustained (exported)", "daemon CPU", "latency p50 / p99 @ ½ rate", "peak RSS", "objects / jobs / Redis calls per span", "notes"];
  const rows = [...scenarios.map(scenarioRow), ...floors.map(floorRow)];
  const line = (cells: string[]) => `| ${cells.map(cell).join(" | ")} |`;
  const out: string[] = [];
  out.push("# langfuse-otel-receiver benchmark", "");
  out.push(
    `Machine: ${machine.nproc} CPUs (nproc), ${machine.cpuModel}; Node ${machine.node}; Redis ${machine.redis}; ${machine.date}` +
      (machine.elapsedSeconds === undefined ? "" : `; bench took ${machine.elapsedSeconds.toFixed(0)} s`) +
      (machine.stealPercent === undefined ? "" : `; CPU steal during the run ${machine.stealPercent.toFixed(1)} %`) +
      ".",
  );
  const hostSpeed = hostSpeedLine(floors);
  if (hostSpeed !== undefined) out.push(hostSpeed);
  out.push(`Daemon: \`node ${daemonNodeFlags().join(" ")} dist/src/cli.js run\`, ${machine.daemonPinning}; load generator and S3 target: ${machine.helperPinning}; Redis unpinned.`);
  out.push(`Run: ${machine.settings}. Payload: ${machine.payload}.`, "");
  if (rows.length > 0) out.push(line(header), line(header.map(() => "---")), ...rows.map(line));
  if (skipped.length > 0) out.push("", `Not run: ${skipped.join("; ")}.`);
  out.push(...memoryTables(scenarios, idle).flatMap((table) => ["", ...table.map(line)]));
  if (rows.length > 0) {
    out.push(
      "",
      "- **sustained (exported)**: spans acknowledged during the closed-loop window ÷ (window start → the moment the last of their S3 objects and BullMQ jobs existed). The daemon acknowledges once data is in its spool, so this counts exports, not acknowledgements; \"acked\" in the notes is the acknowledgement rate alone.",
      "- **daemon CPU**: utime+stime of the daemon process (/proc/<pid>/stat) over the same interval ÷ spans; \"% of a core\" = CPU time ÷ wall time. Near 100 % the daemon itself is the limit; well below, something else is (S3 target, Redis, fsync, the load generator).",
      "- **latency**: open loop at half the sustained rate, measured from each request's scheduled start (no coordinated omission), until the 200 / gRPC OK, i.e. until the data is fsynced in the spool. The notes add the same phase as the daemon's own `request_duration_seconds` histogram sees it (arrival to answer, interpolated within its buckets 5, 10, 25, 50, 100 ms...): the difference is what the load generator, which shares a core with the S3 target, and the network add.",
      "- **objects / jobs / Redis calls per span**: S3 PUTs counted by the target, jobs added to `<prefix>:ingestion-queue:wait` + `:delayed`, and the server's `INFO commandstats` calls delta, which counts the commands run inside BullMQ's Lua scripts too; \"sent\" is what the daemon itself sent (EVALSHA per job, SET per new trace; BullMQ's addBulk pipelines a record's EVALSHAs into one write). The bench's own commands are subtracted; other clients of the same Redis are not. 1.10 objects and jobs per span is expected on the events path: 100 observations + 10 traces per request with `group`; the raw path (`otel` pipeline, `s3` + `langfuse_otel`, jobs on `otel-ingestion-queue`) writes 0.01: one object and one job per request.",
      `- **traces in 2 requests** (events path, http-protobuf → sink): half of each request's traces continue traces of the previous request on the same connection, so each trace's spans arrive in two requests (as when a tracer exports a long trace in two batches) and each half makes its own trace object: still 1.10 objects and jobs per span. **+ batch** sets the pipeline's \`batch\` (\`flush_at\` ${BATCH_FLUSH_AT} events, \`flush_interval\` 1 s), which merges the two halves' trace objects when both are exported in the same flush (at best 1.05 per span) and sends each flush's jobs in one addBulk; its exports wait for a flush, so its drain ends once no object or job appeared for 1.5 s, and the sustained rate counts up to the last one.`,
      "- **floors**: in-process micro-benchmarks in the bench's own process; CPU µs per unit from process.cpuUsage().",
    );
  }
  out.push(...renderPrivacy(privacy));
  return `${out.join("\n")}\n`;
}
