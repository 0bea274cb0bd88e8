/**
 * Every knob of the benchmark, read once from the environment. The defaults keep the whole run
 * (the idle memory, 14 scenarios, the 2-worker run, the redact and filter runs and the floors) at
 * about twelve minutes on the 2-core machine.
 */
function seconds(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number of seconds, got ${JSON.stringify(raw)}`);
  return value;
}

function integer(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return value;
}

function list(name: string, fallback: readonly string[]): string[] {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return [...fallback];
  return raw.split(",").map((item) => item.trim()).filter((item) => item !== "");
}

export const settings = {
  /** Closed-loop warm-up, not measured; the daemon drains it before the window starts. */
  warmupMs: seconds("BENCH_WARMUP_S", 2) * 1000,
  /** Closed-loop measured window. */
  windowMs: seconds("BENCH_WINDOW_S", 10) * 1000,
  /**
   * Open-loop phase at half the sustained rate, for latency. Long enough for a p99 that is not just
   * the worst request: an events scenario sends 10-20 requests a second here, 150-300 in 15 s.
   */
  openMs: seconds("BENCH_OPEN_S", 15) * 1000,
  /** Longest wait for the exports to catch up after a phase; past it the backlog is reported. */
  drainTimeoutMs: seconds("BENCH_DRAIN_TIMEOUT_S", 45) * 1000,
  /** Concurrent connections of the closed loop. */
  concurrency: integer("BENCH_CONCURRENCY", 8),
  /** Seconds per in-process floor micro-benchmark. */
  floorMs: seconds("BENCH_FLOOR_S", 2) * 1000,
  /** PUTs per S3 floor and jobs per BullMQ floor. */
  floorPuts: integer("BENCH_FLOOR_PUTS", 3000),
  floorJobs: integer("BENCH_FLOOR_JOBS", 10000),
  /** Which encodings and S3 targets to run (comma lists), e.g. BENCH_ENCODINGS=grpc BENCH_TARGETS=sink. */
  encodings: list("BENCH_ENCODINGS", ["http-protobuf", "http-json", "grpc"]),
  /**
   * `events`: spans converted here ([validate, auth, sort, group] → [s3, bullmq]); `raw`: the otel
   * pipeline ([auth, validate] → [s3, langfuse_otel]); `split` and `batch` (http-protobuf → sink
   * only): each trace's spans in two requests, without and with the `batch` processor.
   */
  paths: list("BENCH_PATHS", ["events", "raw", "split", "batch"]),
  targets: list("BENCH_TARGETS", ["sink", "s3rver"]),
  /** Extra runs of http-protobuf → sink with this many worker processes, unpinned ("" for none). */
  workerCounts: (process.env.BENCH_WORKERS === "" ? [] : list("BENCH_WORKERS", ["2"])).map(Number).filter((count) => count > 1),
  /**
   * Idle memory: a daemon of one process and one of each BENCH_WORKERS count, measured once every
   * process has started and again after this long without traffic (V8 gives back the young
   * generation that loading the code grew only once it sees the process idle). 0 skips it.
   */
  idleMs: seconds("BENCH_IDLE_S", 40) * 1000,
  /** Skip the in-process floors (BENCH_FLOORS=0). */
  floors: process.env.BENCH_FLOORS !== "0",
  /** Write a V8 CPU profile of each daemon into this folder (passes --cpu-prof). */
  cpuProfDir: process.env.BENCH_CPU_PROF_DIR || undefined,
  /**
   * The closed loop holds back while more than this many acknowledged spans wait for export. The
   * daemon acknowledges from its spool, so an unpaced closed loop outruns a slow S3 (s3rver) and
   * only grows the spool; paced, the loop runs at the export rate and each drain stays short.
   */
  maxBacklogSpans: integer("BENCH_MAX_BACKLOG_SPANS", 5000),
  redisUrl: process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379",
  /**
   * The redact and filter runs (what each processor costs, measured against the same load without
   * it): `1` after the other scenarios, `0` not at all, `only` without the idle memory, the other
   * scenarios and the worker runs (the floors still run unless BENCH_FLOORS=0).
   */
  privacy: privacyMode(process.env.BENCH_PRIVACY),
  /** Which of them: `redact`, `filter`, `redact_found` (every request holds an e-mail address to replace); each is paired with a run `without`. */
  privacyVariants: list("BENCH_PRIVACY_VARIANTS", ["redact", "filter"]),
  /** Rounds of the pairs; each round runs every variant once, the order reversed every other round. */
  privacyRounds: integer("BENCH_PRIVACY_ROUNDS", 1),
  /** Encodings and S3 targets of the redact and filter runs (their paths: `events` and `raw`, as far as BENCH_PATHS lists them). */
  privacyEncodings: list("BENCH_PRIVACY_ENCODINGS", ["http-protobuf"]),
  privacyTargets: list("BENCH_PRIVACY_TARGETS", ["sink"]),
} as const;

function privacyMode(raw: string | undefined): "on" | "off" | "only" {
  if (raw === undefined || raw === "" || raw === "1") return "on";
  if (raw === "0") return "off";
  if (raw === "only") return "only";
  throw new Error(`BENCH_PRIVACY must be 1, 0 or only, got ${JSON.stringify(raw)}`);
}

export type Encoding = "http-protobuf" | "http-json" | "grpc";
export type TargetKind = "sink" | "s3rver";
/**
 * events: `[validate, auth, sort, group]` → s3 + bullmq; raw: an `otel` pipeline; split: events
 * with each trace's spans in two requests; batch: split plus the `batch` processor last.
 */
export type PathKind = "events" | "raw" | "split" | "batch";

export const ENCODINGS: readonly Encoding[] = ["http-protobuf", "http-json", "grpc"];
export const TARGETS: readonly TargetKind[] = ["sink", "s3rver"];
export const PATHS: readonly PathKind[] = ["events", "raw", "split", "batch"];

/**
 * The processor a redact or filter run adds before conversion (`none`: the run it is compared
 * with). Pipelines: events `[auth, <it>, validate, sort, group]`, raw `[auth, <it>, validate]`.
 */
export type PrivacyVariant = "none" | "redact" | "redact_found" | "filter";
export const PRIVACY_VARIANTS: readonly Exclude<PrivacyVariant, "none">[] = ["redact", "redact_found", "filter"];
