/**
 * One scenario: an encoding against an S3 target, with a fresh daemon, spool and key prefix.
 *
 *   warm-up    closed loop, not measured; the exports drain before the window starts
 *   window     closed loop; then the exports drain. Sustained = spans acknowledged in the window
 *              / (window start → the moment the last of their objects and jobs exists). The
 *              daemon acknowledges from its spool, so acknowledging fast is not enough: the
 *              number only counts what was exported. CPU, Redis calls, objects and jobs are the
 *              deltas over the same interval.
 *   open loop  at half the sustained rate; request latency p50/p99 from the scheduled start
 *              (left out by the redact and filter runs, which measure cost, not latency)
 */
import { BLOBS_PER_REQUEST, SPANS_PER_REQUEST, STREAM_SPANS_PER_REQUEST, TRACES_PER_REQUEST, type PayloadVariant } from "./payload.js";
import { AUTHORIZATION, HELPER_CPU, startDaemon, type Daemon } from "./daemon.js";
import type { LoadResult, LoadTarget } from "./load.js";
import type { DaemonMemory } from "./memory.js";
import { onCleanup, processCpuMicros, sleep, startWorker, wallMs, type Worker } from "./procs.js";
import { BenchRedis, commandDelta, uniquePrefix } from "./redis.js";
import { settings, type Encoding, type PathKind, type PrivacyVariant, type TargetKind } from "./settings.js";
import type { SinkStats } from "./sink.js";

export interface ScenarioResult {
  path: PathKind;
  encoding: Encoding;
  target: TargetKind;
  workers: number;
  /** A redact or filter run, or the run they are compared with (`none`); undefined for the other scenarios. */
  privacy?: PrivacyVariant | undefined;
  /** Which run of the redact and filter rounds (1, 2, …). */
  round?: number;
  /** Spans exported per second over window start → drained (spans as received: a filter's drops count). */
  sustainedSpansPerSecond: number;
  /** Spans acknowledged per second while the closed loop ran. */
  ackedSpansPerSecond: number;
  spans: number;
  /** Share of the window the closed loop was held back because the exports were behind. */
  pausedShare: number;
  /** Spans acknowledged but not yet exported when the closed loop stopped, and the time to drain them. */
  backlogSpansAtStop: number;
  drainMs: number;
  drained: boolean;
  daemonCpuMicrosPerSpan: number;
  /** Daemon CPU time / wall time over the interval (100 % = one core). */
  daemonCpuPercent: number;
  /** Load generator, S3 target and Redis server CPU over the interval, % of a core (Redis: NaN if not local). */
  loadCpuPercent: number;
  redisCpuPercent: number;
  targetCpuPercent: number;
  blobsPerSpan: number;
  jobsPerSpan: number;
  /** Bytes the S3 target received per span (object bodies). */
  storedBytesPerSpan: number;
  /** All calls Redis counted (including inside BullMQ's Lua scripts) and the commands sent, per span. */
  redisCallsPerSpan: number;
  redisSentPerSpan: number;
  failures: Record<string, number>;
  /** Closed-loop request latency (at saturation, paced). */
  closedP50Ms: number;
  open: {
    requestsPerSecond: number;
    samples: number;
    p50Ms: number;
    p99Ms: number;
    failures: Record<string, number>;
    lateStarts: number;
    drained: boolean;
    /** The same phase as the daemon's own request-duration histogram sees it (arrival to answer). */
    daemonP99Ms: number;
    daemonWithin50MsShare: number;
    /** The daemon's event-loop delay over the phase (prom-client resets it at each scrape). */
    eventLoopDelayP99Ms: number;
    eventLoopDelayMaxMs: number;
  };
  peakRssBytes: number;
  /** Per process: idle once every process has started, before any request; and at the end (with each one's peak). */
  memoryAtStart: DaemonMemory;
  memoryAtEnd: DaemonMemory;
}

export function percentile(values: readonly number[], fraction: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!;
}

interface ExportCounts {
  puts: number;
  jobs: number;
  at: number;
  target: SinkStats;
}

/**
 * What one request becomes: 110 objects and jobs on the events path (with `group`), one of each on
 * the raw path. With `batch`, between 105 and 110: a trace whose two halves are exported in the
 * same flush becomes one object; `exact` is false and the drain waits for the counts to settle.
 */
function exportsPerRequest(path: PathKind, privacy?: PrivacyVariant): { objects: number; queue: string; exact: boolean } {
  if (path === "raw") return { objects: 1, queue: "otel-ingestion-queue", exact: true };
  if (path === "batch") return { objects: BLOBS_PER_REQUEST - TRACES_PER_REQUEST / 2, queue: "ingestion-queue", exact: false };
  // The filter drops the `stream …` spans (never a root): each trace keeps its object.
  if (privacy === "filter") return { objects: BLOBS_PER_REQUEST - STREAM_SPANS_PER_REQUEST, queue: "ingestion-queue", exact: true };
  return { objects: BLOBS_PER_REQUEST, queue: "ingestion-queue", exact: true };
}

/** The request a redact or filter run sends: half the spans named `stream …`, and with redact_found an e-mail address. */
function payloadVariant(privacy: PrivacyVariant | undefined): PayloadVariant | undefined {
  if (privacy === undefined) return undefined;
  return { streamNames: true, email: privacy === "redact_found" };
}

export interface ScenarioOptions {
  /** A redact or filter run, or the run without either (`none`). */
  privacy?: PrivacyVariant;
  round?: number;
  /** Run the open loop (latency); default true. */
  openLoop?: boolean;
}

/** With `batch`, no object or job for this long means the export is done (its flush interval is 1 s). */
const SETTLED_AFTER_MS = 1_500;

class ExportWatch {
  constructor(
    private readonly target: Worker,
    private readonly redis: BenchRedis,
    private readonly keyPrefix: string,
    private readonly queue: string,
    private readonly objectsPerRequest: number,
    /** Whether `until`'s counts are exact; otherwise they are lower bounds and the counts must settle. */
    private readonly exact: boolean,
  ) {}

  async counts(): Promise<ExportCounts> {
    const [target, jobs] = await Promise.all([this.target.ask<SinkStats>({ cmd: "stats" }), this.redis.queuedJobs(this.keyPrefix, this.queue)]);
    return { puts: target.puts, jobs, at: wallMs(), target };
  }

  /**
   * Runs the closed loop and, every 20 ms, holds its lanes back while more than
   * `settings.maxBacklogSpans` acknowledged spans are not yet exported (counted from the S3
   * target's PUTs since `basePuts`, when the backlog was empty).
   */
  async paced(load: Worker, command: Record<string, unknown>, basePuts: number): Promise<LoadResult> {
    let finished = false;
    const run = load.ask<LoadResult>(command);
    run.then(
      () => (finished = true),
      () => (finished = true),
    );
    let open = true;
    while (!finished) {
      await sleep(20);
      if (finished) break;
      const [progress, target] = await Promise.all([load.ask<{ ok: number }>({ cmd: "progress" }), this.target.ask<SinkStats>({ cmd: "stats" })]);
      const backlogSpans = progress.ok * SPANS_PER_REQUEST - ((target.puts - basePuts) / this.objectsPerRequest) * SPANS_PER_REQUEST;
      const shouldOpen = backlogSpans <= settings.maxBacklogSpans;
      if (shouldOpen !== open && !finished) {
        open = shouldOpen;
        await load.ask({ cmd: "gate", open });
      }
    }
    return run;
  }

  /**
   * Polls every 20 ms until both counts reach their targets, or the drain timeout passes. When the
   * targets are lower bounds (`batch`), until they are reached and then nothing changed for
   * SETTLED_AFTER_MS; the moment returned is the last change.
   */
  async until(puts: number, jobs: number): Promise<ExportCounts & { settled: boolean }> {
    const deadline = wallMs() + settings.drainTimeoutMs;
    let last: ExportCounts | undefined;
    for (;;) {
      const now = await this.counts();
      const reached = now.puts >= puts && now.jobs >= jobs;
      if (reached && this.exact) return { ...now, settled: true };
      if (last === undefined || now.puts !== last.puts || now.jobs !== last.jobs) last = now;
      else if (reached && now.at - last.at >= SETTLED_AFTER_MS) return { ...last, settled: true };
      if (now.at > deadline) return { ...now, settled: false };
      await sleep(20);
    }
  }
}

/**
 * The daemon's `request_duration_seconds` histogram, cumulative counts by upper bound, summed over
 * receivers and transports. It times each request from its arrival to its answer, so it leaves out
 * what the client and the network add (on this 2-core machine the load generator shares a core
 * with the S3 target and sometimes sends or reads late).
 */
async function scrape(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

function gaugeValue(text: string, name: string): number {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, "m").exec(text);
  return match ? Number(match[1]) : Number.NaN;
}

function durationBuckets(text: string): Map<number, number> {
  const buckets = new Map<number, number>();
  for (const match of text.matchAll(/^langfuse_otel_receiver_request_duration_seconds_bucket\{[^}]*le="([^"]+)"[^}]*\} (\d+(?:\.\d+)?)$/gm)) {
    const bound = match[1] === "+Inf" ? Number.POSITIVE_INFINITY : Number(match[1]);
    buckets.set(bound, (buckets.get(bound) ?? 0) + Number(match[2]));
  }
  return buckets;
}

function histogramDelta(before: Map<number, number>, after: Map<number, number>): Map<number, number> {
  return new Map([...after].map(([bound, count]) => [bound, count - (before.get(bound) ?? 0)]));
}

/** Prometheus's histogram_quantile: linear within the bucket that holds the quantile. */
function histogramQuantile(buckets: Map<number, number>, quantile: number): number {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Number.POSITIVE_INFINITY) ?? 0;
  if (total === 0) return Number.NaN;
  const rank = quantile * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bound of bounds) {
    const count = buckets.get(bound)!;
    if (count >= rank) {
      if (!Number.isFinite(bound)) return lowerBound;
      return lowerBound + ((bound - lowerBound) * (rank - lowerCount)) / Math.max(1, count - lowerCount);
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}

function failuresOf(...results: LoadResult[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const result of results) {
    for (const [status, count] of Object.entries(result.failures)) out[status] = (out[status] ?? 0) + count;
    if (result.partial > 0) out["partial_success"] = (out["partial_success"] ?? 0) + result.partial;
  }
  return out;
}

/** Open loop at `requestsPerSecond`: latency from each request's scheduled start, and the daemon's own view of it. */
async function runOpenLoop(
  daemon: Daemon,
  load: Worker,
  loadTarget: LoadTarget,
  watch: ExportWatch,
  requestsPerSecond: number,
  perRequest: number,
  log: (line: string) => void,
): Promise<ScenarioResult["open"]> {
  const openStart = await watch.counts();
  const histogramBefore = durationBuckets(await scrape(daemon.metricsPort));
  const open = await load.ask<LoadResult>({ cmd: "open", target: loadTarget, requestsPerSecond, durationMs: settings.openMs, connections: settings.concurrency });
  const afterOpen = await scrape(daemon.metricsPort);
  const served = histogramDelta(histogramBefore, durationBuckets(afterOpen));
  const openDrain = await watch.until(openStart.puts + open.ok * perRequest, openStart.jobs + open.ok * perRequest);
  log(`  open loop: ${open.ok}/${open.requests} requests at ${requestsPerSecond.toFixed(1)}/s, p50 ${percentile(open.latenciesMs, 0.5).toFixed(1)} ms, p99 ${percentile(open.latenciesMs, 0.99).toFixed(1)} ms`);
  return {
    requestsPerSecond,
    samples: open.latenciesMs.length,
    p50Ms: percentile(open.latenciesMs, 0.5),
    p99Ms: percentile(open.latenciesMs, 0.99),
    failures: failuresOf(open),
    lateStarts: open.lateStarts,
    drained: openDrain.settled,
    daemonP99Ms: histogramQuantile(served, 0.99) * 1000,
    daemonWithin50MsShare: served.get(0.05)! / Math.max(1, served.get(Number.POSITIVE_INFINITY)!),
    eventLoopDelayP99Ms: gaugeValue(afterOpen, "langfuse_otel_receiver_nodejs_eventloop_lag_p99_seconds") * 1000,
    eventLoopDelayMaxMs: gaugeValue(afterOpen, "langfuse_otel_receiver_nodejs_eventloop_lag_max_seconds") * 1000,
  };
}

/** What a run without the open loop reports for it: nothing measured. */
function skippedOpenLoop(): ScenarioResult["open"] {
  return {
    requestsPerSecond: Number.NaN,
    samples: 0,
    p50Ms: Number.NaN,
    p99Ms: Number.NaN,
    failures: {},
    lateStarts: 0,
    drained: true,
    daemonP99Ms: Number.NaN,
    daemonWithin50MsShare: Number.NaN,
    eventLoopDelayP99Ms: Number.NaN,
    eventLoopDelayMaxMs: Number.NaN,
  };
}

export async function runScenario(
  encoding: Encoding,
  targetKind: TargetKind,
  load: Worker,
  redis: BenchRedis,
  log: (line: string) => void,
  workers = 1,
  path: PathKind = "events",
  options: ScenarioOptions = {},
): Promise<ScenarioResult> {
  const { privacy, round, openLoop = true } = options;
  const keyPrefix = uniquePrefix(`${path}-${encoding}-${targetKind}${privacy === undefined ? "" : `-${privacy}`}`);
  const { objects: perRequest, queue, exact } = exportsPerRequest(path, privacy);
  const forgetKeys = onCleanup(`delete Redis keys ${keyPrefix}*`, async () => {
    await redis.deletePrefix(keyPrefix);
  });
  const target = await startWorker("sink.ts", [targetKind], HELPER_CPU);
  const stopTarget = onCleanup(`stop the ${targetKind}`, () => target.stop());
  let daemon: Daemon | undefined;
  try {
    daemon = await startDaemon({
      s3Endpoint: `http://127.0.0.1:${target.ready.port as number}`,
      redisUrl: settings.redisUrl,
      keyPrefix,
      cpuProfDir: settings.cpuProfDir,
      workers,
      path,
      privacy,
    });
    const memoryAtStart = daemon.memory();
    const loadTarget: LoadTarget = {
      encoding,
      httpPort: daemon.httpPort,
      grpcPort: daemon.grpcPort,
      authorization: AUTHORIZATION,
      splitTraces: path === "split" || path === "batch",
      variant: payloadVariant(privacy),
    };
    const watch = new ExportWatch(target, redis, keyPrefix, queue, perRequest, exact);
    const closed = (durationMs: number, basePuts: number) =>
      watch.paced(load, { cmd: "closed", target: loadTarget, concurrency: settings.concurrency, durationMs }, basePuts);

    // Warm-up, then let the exports catch up so the window starts with an empty spool.
    const warm = await closed(settings.warmupMs, 0);
    const warmDrain = await watch.until(warm.ok * perRequest, warm.ok * perRequest);
    if (!warmDrain.settled) log(`  warm-up backlog did not drain within ${settings.drainTimeoutMs / 1000} s; the window starts with a backlog`);

    // Measured window.
    const redisPid = await redis.serverPid();
    const start = await watch.counts();
    // Own commands counted from just before one INFO to just before the other: the server's
    // snapshot excludes the INFO that reads it.
    const ownBefore = redis.ownSnapshot();
    const statsBefore = await redis.commandStats();
    const redisCpu = () => (redisPid === undefined ? Number.NaN : processCpuMicros(redisPid));
    const redisCpuBefore = redisCpu();
    const cpuBefore = daemon.cpuMicros();
    const window = await closed(settings.windowMs, start.puts);
    const atStop = await watch.counts();
    const wantPuts = start.puts + window.ok * perRequest;
    const wantJobs = start.jobs + window.ok * perRequest;
    const drained = await watch.until(wantPuts, wantJobs);
    const cpuAfter = daemon.cpuMicros();
    const redisCpuAfter = redisCpu();
    const ownAfter = redis.ownSnapshot();
    const statsAfter = await redis.commandStats();

    const spans = window.ok * SPANS_PER_REQUEST;
    const exportedSpans = drained.settled ? spans : ((drained.puts - start.puts) / perRequest) * SPANS_PER_REQUEST;
    const intervalMs = drained.at - window.startedAt;
    const sustained = exportedSpans / (intervalMs / 1000);
    const exportedAtStop = ((atStop.puts - start.puts) / perRequest) * SPANS_PER_REQUEST;
    const redisDelta = commandDelta(statsBefore, statsAfter, ownBefore, ownAfter);
    log(
      `  window: ${spans} spans acked in ${((window.endedAt - window.startedAt) / 1000).toFixed(1)} s, ` +
        `backlog at stop ${Math.max(0, Math.round(spans - exportedAtStop))} spans, drained ${drained.settled ? `after ${((drained.at - window.endedAt) / 1000).toFixed(1)} s` : "NOT within the timeout"}`,
    );

    const objectBytes = (drained.target.bytes - start.target.bytes) / Math.max(1, drained.puts - start.puts);
    log(`  ${Math.round(objectBytes)} bytes per object; daemon CPU ${(((cpuAfter - cpuBefore) / 1000 / intervalMs) * 100).toFixed(0)} %; refusals ${JSON.stringify(failuresOf(window))}`);
    log(`  Redis calls in the interval: ${[...redisDelta.byCommand].sort((a, b) => b[1] - a[1]).map(([name, calls]) => `${name} ${calls}`).join(", ")}`);

    // Open loop at half the sustained rate (after the drain above: nothing queued).
    const requestsPerSecond = Math.max(0.5, sustained / 2 / SPANS_PER_REQUEST);
    const open = openLoop ? await runOpenLoop(daemon, load, loadTarget, watch, requestsPerSecond, perRequest, log) : skippedOpenLoop();

    const result: ScenarioResult = {
      path,
      encoding,
      target: targetKind,
      workers,
      privacy,
      round,
      sustainedSpansPerSecond: sustained,
      ackedSpansPerSecond: spans / ((window.endedAt - window.startedAt) / 1000),
      spans,
      pausedShare: window.pausedMs / (window.endedAt - window.startedAt),
      backlogSpansAtStop: Math.max(0, spans - exportedAtStop),
      drainMs: drained.at - window.endedAt,
      drained: drained.settled,
      daemonCpuMicrosPerSpan: (cpuAfter - cpuBefore) / exportedSpans,
      daemonCpuPercent: ((cpuAfter - cpuBefore) / 1000 / intervalMs) * 100,
      loadCpuPercent: (window.cpuMicros / 1000 / intervalMs) * 100,
      redisCpuPercent: ((redisCpuAfter - redisCpuBefore) / 1000 / intervalMs) * 100,
      targetCpuPercent: ((drained.target.cpuMicros - start.target.cpuMicros) / 1000 / intervalMs) * 100,
      blobsPerSpan: (drained.puts - start.puts) / exportedSpans,
      jobsPerSpan: (drained.jobs - start.jobs) / exportedSpans,
      storedBytesPerSpan: (drained.target.bytes - start.target.bytes) / exportedSpans,
      redisCallsPerSpan: redisDelta.total / exportedSpans,
      redisSentPerSpan: redisDelta.sent / exportedSpans,
      failures: failuresOf(warm, window),
      closedP50Ms: percentile(window.latenciesMs, 0.5),
      open,
      peakRssBytes: daemon.peakRssBytes(),
      memoryAtStart,
      memoryAtEnd: daemon.memory(),
    };
    return result;
  } finally {
    await daemon?.stop();
    await stopTarget();
    await forgetKeys();
  }
}
