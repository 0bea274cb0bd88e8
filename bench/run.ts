/**
 * `npm run bench`: the idle daemon's memory per process, then every scenario ({events, raw} path ×
 * {http-protobuf, http-json, grpc} × {sink, s3rver}) against a freshly started daemon, then the
 * redact and filter runs (each processor against the same load without it, both paths,
 * http-protobuf → sink), then the in-process floors; prints one markdown table to stdout and
 * writes it to bench/results/latest.md. Progress goes to stderr. Every process, temporary folder
 * and Redis key the run creates is removed on exit, also after a failure or Ctrl-C.
 *
 * Knobs (environment): BENCH_WARMUP_S, BENCH_WINDOW_S, BENCH_OPEN_S, BENCH_DRAIN_TIMEOUT_S,
 * BENCH_CONCURRENCY, BENCH_MAX_BACKLOG_SPANS, BENCH_FLOOR_S, BENCH_FLOOR_PUTS, BENCH_FLOOR_JOBS,
 * BENCH_ENCODINGS, BENCH_TARGETS, BENCH_PATHS, BENCH_WORKERS, BENCH_FLOORS=0, BENCH_IDLE_S,
 * BENCH_CPU_PROF_DIR, BENCH_REDIS_URL, BENCH_SEMI_SPACE_MB, BENCH_NODE_ARGS, BENCH_SPOOL_EXTRA;
 * for the redact and filter runs BENCH_PRIVACY (1 by default, 0 to skip them, `only` for them
 * alone), BENCH_PRIVACY_VARIANTS (redact,filter; also redact_found), BENCH_PRIVACY_ROUNDS (1),
 * BENCH_PRIVACY_ENCODINGS (http-protobuf), BENCH_PRIVACY_TARGETS (sink). bench/README.md
 * describes each.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DAEMON_CPU, HELPER_CPU } from "./daemon.js";
import { runFloors, type Floor } from "./floors.js";
import { measureIdle, type IdleResult } from "./idle.js";
import { machineCpuTicks, onCleanup, pinning, ROOT, runCleanups, startWorker } from "./procs.js";
import { BenchRedis } from "./redis.js";
import { runScenario, type ScenarioResult } from "./scenario.js";
import {
  ENCODINGS,
  PATHS,
  PRIVACY_VARIANTS,
  settings,
  TARGETS,
  type Encoding,
  type PathKind,
  type PrivacyVariant,
  type TargetKind,
} from "./settings.js";
import { renderReport, type Machine } from "./table.js";

/** Set by the first SIGINT/SIGTERM: nothing new starts after it. */
let interruptedAt = 0;
const log = (line: string) => process.stderr.write(`${line}\n`);
const startedAt = performance.now();
const cpuAtStart = machineCpuTicks();

function machine(redisVersion: string): Machine {
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? "unknown CPU";
  return {
    nproc: Number(execFileSync("nproc", { encoding: "utf8" }).trim()),
    cpuModel,
    node: process.version,
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    redis: redisVersion,
    daemonPinning: pinning(DAEMON_CPU).label,
    helperPinning: pinning(HELPER_CPU).label,
    settings:
      `warm-up ${settings.warmupMs / 1000} s, closed loop ${settings.windowMs / 1000} s × ${settings.concurrency} connections, ` +
      `open loop ${settings.openMs / 1000} s at ½ the sustained rate, drain timeout ${settings.drainTimeoutMs / 1000} s, closed loop paused while > ${settings.maxBacklogSpans.toLocaleString("en-US")} acked spans await export, spool (fsync on) in ${tmpdir()}, s3rver objects on tmpfs, floors ${settings.floorMs / 1000} s each`,
    payload: "",
  };
}

function selected<T extends string>(wanted: readonly string[], known: readonly T[], what: string): T[] {
  for (const item of wanted) if (!(known as readonly string[]).includes(item)) throw new Error(`unknown ${what} ${item}; known: ${known.join(", ")}`);
  return known.filter((item) => wanted.includes(item));
}

async function main(): Promise<number> {
  if (!existsSync(join(ROOT, "dist/src/cli.js"))) throw new Error("dist/src/cli.js is missing: run `npm run build` first (npm run bench does)");
  const encodings = selected<Encoding>(settings.encodings, ENCODINGS, "encoding");
  const targets = selected<TargetKind>(settings.targets, TARGETS, "target");
  const paths = selected<PathKind>(settings.paths, PATHS, "path");
  const privacyVariants = selected(settings.privacyVariants, PRIVACY_VARIANTS, "BENCH_PRIVACY_VARIANTS entry");
  const privacyEncodings = selected<Encoding>(settings.privacyEncodings, ENCODINGS, "encoding");
  const privacyTargets = selected<TargetKind>(settings.privacyTargets, TARGETS, "target");
  const others = settings.privacy !== "only";

  const redis = new BenchRedis(settings.redisUrl);
  try {
    await redis.connect();
  } catch (error) {
    throw new Error(`cannot reach Redis at ${settings.redisUrl} (the daemon's bullmq exporter needs it): ${(error as Error).message}`);
  }
  onCleanup("close the bench's Redis connection", () => redis.close());
  const redisVersion = /^redis_version:(.+)$/m.exec(await redis.client.info("server"))?.[1]?.trim() ?? "?";

  log("starting the load generator");
  const load = await startWorker("load.ts", [], HELPER_CPU);
  onCleanup("stop the load generator", () => load.stop());
  const info = machine(redisVersion);
  const kib = (bytes: unknown) => `${Math.round((bytes as number) / 1024)} KiB`;
  info.payload = `100 spans per request (10 traces × 10), 15 attributes each incl. ~1 KB input and ~1 KB output; ${kib(load.ready.protobufBytes)} protobuf, ${kib(load.ready.jsonBytes)} JSON per request, fresh ids every request`;

  const scenarios: ScenarioResult[] = [];
  const skipped: string[] = [];
  // Idle memory first, while nothing else has run on the machine yet.
  const idle: IdleResult[] = [];
  for (const workers of settings.idleMs > 0 && others ? [1, ...settings.workerCounts] : []) {
    if (interruptedAt !== 0) return 130;
    log(`idle memory with ${workers} worker${workers === 1 ? "" : "s"} (${settings.idleMs / 1000} s without traffic)`);
    try {
      idle.push(await measureIdle(workers, redis));
    } catch (error) {
      const message = (error as Error).message;
      log(`idle memory with ${workers} workers FAILED: ${message}`);
      skipped.push(`idle memory, ${workers} workers failed (${message.split("\n")[0]})`);
    }
  }
  for (const path of others ? paths : []) {
    for (const target of targets) {
      for (const encoding of encodings) {
        if (interruptedAt !== 0) return 130;
        // What batching saves depends on the traffic, not on the encoding or the S3 target: one pair.
        if ((path === "split" || path === "batch") && (encoding !== "http-protobuf" || target !== "sink")) continue;
        const label = `${path} path: ${encoding} → ${target}`;
        log(`scenario ${label}`);
        try {
          scenarios.push(await runScenario(encoding, target, load, redis, log, 1, path));
        } catch (error) {
          const message = (error as Error).message;
          log(`scenario ${label} FAILED: ${message}`);
          skipped.push(`${label} failed (${message.split("\n")[0]})`);
        }
      }
    }
  }
  // Scaling: the same scenario on several worker processes, the daemon unpinned. On a 2-core
  // machine the load generator, the sink and Redis share those cores, so this is a lower bound.
  for (const workers of others ? settings.workerCounts : []) {
    if (interruptedAt !== 0) return 130;
    if (!targets.includes("sink") || !encodings.includes("http-protobuf") || !paths.includes("events")) break;
    log(`scenario http-protobuf → sink with ${workers} workers`);
    try {
      scenarios.push(await runScenario("http-protobuf", "sink", load, redis, log, workers));
    } catch (error) {
      const message = (error as Error).message;
      log(`scenario with ${workers} workers FAILED: ${message}`);
      skipped.push(`http-protobuf → sink, ${workers} workers failed (${message.split("\n")[0]})`);
    }
  }

  // The redact and filter runs: each processor against the same load without it, in rounds. Within
  // a round the runs alternate (the order reversed every other round), so a pair shares the host's
  // moment as far as it can.
  const privacy: ScenarioResult[] = [];
  const privacyPaths = settings.privacy === "off" ? [] : paths.filter((path) => path === "events" || path === "raw");
  for (let round = 1; round <= (privacyPaths.length > 0 ? settings.privacyRounds : 0); round += 1) {
    const order: PrivacyVariant[] = ["none", ...privacyVariants];
    if (round % 2 === 0) order.reverse();
    for (const path of privacyPaths) {
      for (const target of privacyTargets) {
        for (const encoding of privacyEncodings) {
          for (const variant of order) {
            if (interruptedAt !== 0) return 130;
            const label = `${path} path: ${encoding} → ${target}, ${variant === "none" ? "without redact or filter" : `+ ${variant}`}, round ${round}`;
            log(`scenario ${label}`);
            try {
              privacy.push(await runScenario(encoding, target, load, redis, log, 1, path, { privacy: variant, round, openLoop: false }));
            } catch (error) {
              const message = (error as Error).message;
              log(`scenario ${label} FAILED: ${message}`);
              skipped.push(`${label} failed (${message.split("\n")[0]})`);
            }
          }
        }
      }
    }
  }

  const floors: Floor[] = [];
  if (interruptedAt !== 0) return 130;
  if (settings.floors) {
    try {
      floors.push(...(await runFloors(log)));
    } catch (error) {
      log(`floors FAILED: ${(error as Error).stack}`);
      skipped.push(`floors failed (${(error as Error).message.split("\n")[0]})`);
    }
  }

  info.elapsedSeconds = (performance.now() - startedAt) / 1000;
  const cpuAtEnd = machineCpuTicks();
  info.stealPercent = ((cpuAtEnd.steal - cpuAtStart.steal) / Math.max(1, cpuAtEnd.total - cpuAtStart.total)) * 100;
  const report = renderReport(info, scenarios, floors, skipped, idle, privacy);
  process.stdout.write(`\n${report}`);
  mkdirSync(join(ROOT, "bench/results"), { recursive: true });
  writeFileSync(join(ROOT, "bench/results/latest.md"), report);
  log(`wrote bench/results/latest.md (bench took ${info.elapsedSeconds.toFixed(0)} s)`);
  return skipped.length === 0 ? 0 : 1;
}

// Ctrl-C reaches the whole process group, and tsx forwards it once more: a repeat within 2 s is
// the same interrupt. A later one exits at once (cleanup skipped except killing the children).
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    const now = Date.now();
    if (interruptedAt !== 0) {
      if (now - interruptedAt > 2_000) process.exit(130);
      return;
    }
    interruptedAt = now;
    log(`${signal}: cleaning up (again after 2 s to skip the cleanup)`);
    runCleanups().finally(() => process.exit(130));
  });
}

let code = 1;
try {
  code = await main();
} catch (error) {
  log(`bench failed: ${(error as Error).stack ?? String(error)}`);
} finally {
  await runCleanups();
}
process.exit(code);
