#!/usr/bin/env node
import { parseArgs } from "node:util";
import { unwatchFile, watchFile, type Stats } from "node:fs";
import type { Logger } from "pino";
import { checkConfigFile } from "./config/load.js";
import type { ResolvedConfig } from "./config/resolve.js";
import { formatProblem } from "./config/problems.js";
import { limitHeapGrowth } from "./heap-growth.js";
import { createLogger } from "./logging.js";
import { Service } from "./service.js";
import { listDeadLetters, replayDeadLetters } from "./spool/replay.js";
import { runPipelineTests } from "./testing/pipeline-tests.js";
import { currentWorker, notifyPrimary, runPrimary, type WorkerIdentity } from "./workers.js";
import { autoWorkerCount } from "./cpu-quota.js";
import { daemonMemoryReading } from "./daemon-memory.js";
import { answerClusterScrapes, metrics } from "./telemetry/metrics.js";
import { VERSION } from "./version.js";

const USAGE = `langfuse-otel-receiver ${VERSION}

Usage:
  langfuse-otel-receiver run --config <file>           start the daemon
  langfuse-otel-receiver validate --config <file>      check a config without starting anything
  langfuse-otel-receiver test <tests.yaml>... [--config <file>]
                                                       run pipeline unit tests offline (no Redis or S3)
  langfuse-otel-receiver dead-letters --config <file>  list what the spool could not export, and why
  langfuse-otel-receiver dead-letters --replay --config <file>
                                                       export the dead letters again (after fixing the cause)
  langfuse-otel-receiver version                       print the version

Options:
  -c, --config <file>   YAML pipeline configuration (default: config/pipeline.yaml)
  -h, --help            show this help
  -v, --version         print the version

Examples:
  langfuse-otel-receiver run --config config/pipeline.yaml
  LOG_LEVEL=debug langfuse-otel-receiver run --config my.yaml
  langfuse-otel-receiver validate --config config/examples/langfuse-v4.yaml
  langfuse-otel-receiver test config/examples/pipeline.tests.yaml

Exit codes:
  0  success (run: stopped cleanly; validate: valid; test: all passed)
  1  failure (a config problem, a failed test, a start or stop that failed, dead letters still failing)
  2  wrong usage (unknown command or option)

Signals (run): SIGTERM/SIGINT stop gracefully within service.shutdown_timeout (a second one
stops at once); SIGHUP reloads the configuration.`;

async function validate(file: string): Promise<number> {
  const { problems } = await checkConfigFile(file);
  if (problems.length === 0) {
    process.stdout.write(`${file}: configuration is valid\n`);
    return 0;
  }
  for (const problem of problems) process.stderr.write(`${formatProblem(problem)}\n`);
  process.stderr.write(`${problems.length} problem${problems.length === 1 ? "" : "s"} found\n`);
  return 1;
}

async function pipelineTests(files: string[], configOverride: string | undefined): Promise<number> {
  if (files.length === 0) {
    process.stderr.write("give one or more test files: langfuse-otel-receiver test tests.yaml\n");
    return 2;
  }
  let failed = 0;
  let passed = 0;
  for (const file of files) {
    const { outcomes, setupProblems } = await runPipelineTests(file, configOverride);
    for (const problem of setupProblems) process.stderr.write(`${problem}\n`);
    if (setupProblems.length > 0) failed += 1;
    for (const outcome of outcomes) {
      if (outcome.passed) {
        passed += 1;
        process.stdout.write(`ok    ${outcome.name}\n`);
      } else {
        failed += 1;
        process.stdout.write(`FAIL  ${outcome.name}\n${outcome.problems.map((problem) => `      ${problem}\n`).join("")}`);
      }
    }
  }
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
}

async function deadLetters(file: string, replay: boolean): Promise<number> {
  const { config, problems } = await checkConfigFile(file);
  if (config === undefined) {
    for (const problem of problems) process.stderr.write(`${formatProblem(problem)}\n`);
    return 1;
  }
  if (replay) {
    const logger = createLogger({ level: "warn", format: config.logs.format });
    const { replayed, failed } = await replayDeadLetters(config, logger);
    process.stdout.write(`replayed ${replayed} dead-letter file${replayed === 1 ? "" : "s"}, ${failed} still failing\n`);
    return failed === 0 ? 0 : 1;
  }
  for (const summary of await listDeadLetters(config)) {
    process.stdout.write(`${summary.pipeline}: ${summary.files.length} dead-letter file${summary.files.length === 1 ? "" : "s"} in ${summary.directory}\n`);
    for (const entry of summary.files) process.stdout.write(`  ${entry.name}  ${entry.groups} group${entry.groups === 1 ? "" : "s"}  ${entry.reasons.join("; ")}\n`);
  }
  return 0;
}

async function run(file: string): Promise<number> {
  const { config, problems } = await checkConfigFile(file);
  if (config === undefined) {
    for (const problem of problems) process.stderr.write(`${formatProblem(problem)}\n`);
    return 1;
  }
  limitHeapGrowth(config.heapGrowthPercent);
  const worker = currentWorker();
  if (worker === undefined) {
    const logger = createLogger(config.logs);
    let count = config.workers;
    if (count === "auto") {
      const auto = autoWorkerCount();
      logger.info({ workers: auto.count, cpuQuota: auto.cpuQuota }, `workers: auto: ${auto.reason}`);
      count = auto.count;
    }
    if (count > 1) return runPrimary(count, logger, config.metrics, config.memoryLimitBytes);
    return serve(file, config, logger, undefined);
  }
  return serve(file, config, createLogger(config.logs).child({ worker: worker.index }), worker);
}

/** The pipeline itself, in a single-process daemon or in one worker process. */
async function serve(file: string, config: ResolvedConfig, logger: Logger, worker: WorkerIdentity | undefined): Promise<number> {
  if (worker && config.metrics.enabled) answerClusterScrapes();
  const service = new Service(config, {
    logger,
    worker,
    serveMetrics: worker === undefined,
    // A worker's memory limit is the whole daemon's, measured by the primary.
    residentBytes: worker && config.memoryLimitBytes > 0 ? daemonMemoryReading() : undefined,
  });
  // A stop can arrive while the service starts (the primary stops a worker that is not up yet, or
  // Kubernetes stops a pod that just started): without a handler the signal would kill the process
  // (a worker killed so makes the daemon exit 1). Note it, and stop cleanly once started.
  let pendingStop: string | undefined;
  let onStopSignal: (signal: string) => void = (signal) => {
    pendingStop ??= signal;
  };
  process.on("SIGTERM", () => onStopSignal("SIGTERM"));
  // Ctrl-C reaches every process of the group; a worker waits for the primary's SIGTERM instead.
  process.on("SIGINT", () => (worker ? undefined : onStopSignal("SIGINT")));
  try {
    await service.start();
  } catch (error) {
    logger.fatal({ err: error }, "daemon could not start");
    notifyPrimary({ type: "failed", error: (error as Error).message });
    return 1;
  }
  notifyPrimary({
    type: "started",
    addresses: Object.fromEntries([...service.receivers].map(([name, receiver]) => [name, receiver.addresses()])),
    health: `http://${service.health.address()}`,
  });

  const stopWatching = watchConfig(file, config.reloadPollIntervalMs, service, logger);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        logger.warn({ signal }, "second signal: exiting at once");
        process.exit(1);
      }
      stopping = true;
      stopWatching();
      logger.info({ signal }, "shutting down");
      service.shutdown().then(
        () => resolve(0),
        (error: unknown) => {
          logger.error({ err: error }, "shutdown failed");
          resolve(1);
        },
      );
    };
    onStopSignal = stop;
    process.on("unhandledRejection", (reason) => logger.error({ err: reason }, "unhandled promise rejection"));
    if (pendingStop !== undefined) stop(pendingStop);
  });
}

/**
 * Live reload on SIGHUP and when the file changes (polled: a ConfigMap update swaps a symlink,
 * which file-change events miss). A config with problems is refused, with every problem located,
 * and the running one stays. Reloads run one at a time.
 */
function watchConfig(file: string, pollIntervalMs: number, service: Service, logger: Logger): () => void {
  let queue = Promise.resolve();
  const reload = (trigger: string) => {
    queue = queue.then(async () => {
      const { config, problems } = await checkConfigFile(file);
      if (config === undefined) {
        metrics.configReloads.inc({ outcome: "failed" });
        logger.error({ trigger, problems: problems.map(formatProblem) }, "configuration not reloaded: the file has problems; the running configuration stays");
        return;
      }
      try {
        const { restartNeeded } = await service.reload(config);
        metrics.configReloads.inc({ outcome: "applied" });
        if (restartNeeded.length > 0) logger.warn({ trigger, restartNeeded }, "processors reloaded; these changes take effect only after a restart");
      } catch (error) {
        metrics.configReloads.inc({ outcome: "failed" });
        logger.error({ trigger, err: error }, "configuration reload failed; the running configuration stays");
      }
    });
  };
  const onSignal = () => reload("SIGHUP");
  process.on("SIGHUP", onSignal);
  const onChange = (current: Stats, previous: Stats) => {
    if (current.mtimeMs !== previous.mtimeMs || current.size !== previous.size || current.ino !== previous.ino) reload("file change");
  };
  if (pollIntervalMs > 0) watchFile(file, { interval: pollIntervalMs, persistent: false }, onChange);
  return () => {
    process.off("SIGHUP", onSignal);
    if (pollIntervalMs > 0) unwatchFile(file, onChange);
  };
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: "string", short: "c", default: "config/pipeline.yaml" },
        help: { type: "boolean", short: "h" },
        replay: { type: "boolean" },
        version: { type: "boolean", short: "v" },
      },
    });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.version || positionals[0] === "version") {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const command = positionals[0];
  if (values.help || command === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  switch (command) {
    case "run":
      return run(values.config!);
    case "validate":
      return validate(values.config!);
    case "test":
      return pipelineTests(positionals.slice(1), argv.includes("--config") || argv.includes("-c") ? values.config : undefined);
    case "dead-letters":
      return deadLetters(values.config!, values.replay === true);
    default:
      process.stderr.write(`unknown command "${command}"\n\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // A worker's IPC channel to the primary would keep it alive; the primary is waiting for its exit.
    if (process.connected) process.disconnect();
    // Every server and connection is closed by now, so the process ends on its own once pino has
    // flushed; the timer only guards against a library that keeps a handle open.
    setTimeout(() => process.exit(code), 3000).unref();
  },
  (error: unknown) => {
    process.stderr.write(`fatal: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
