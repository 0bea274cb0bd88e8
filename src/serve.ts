import { unwatchFile, watchFile, type Stats } from "node:fs";
import type { Logger } from "pino";
import { checkConfigFile } from "./config/load.js";
import { formatProblem } from "./config/problems.js";
import type { ResolvedConfig } from "./config/resolve.js";
import { workerCount } from "./cpu-quota.js";
import { daemonMemoryReading } from "./daemon-memory.js";
import { limitHeapGrowth } from "./heap-growth.js";
import { createLogger } from "./logging.js";
import { Service } from "./service.js";
import { answerClusterScrapes, metrics } from "./telemetry/metrics.js";
import { currentWorker, notifyPrimary, runPrimary, type WorkerIdentity } from "./workers.js";

/**
 * `run` in a process that loads the pipeline: a single-process daemon, or one worker of several.
 * (A primary that will only supervise workers starts from src/primary-start.ts instead, without
 * the pipeline's code.)
 */
export async function runPipelineProcess(file: string): Promise<number> {
  const worker = currentWorker();
  const { config, problems } = await checkConfigFile(file);
  if (config === undefined) {
    for (const problem of problems) process.stderr.write(`${formatProblem(problem)}\n`);
    return 1;
  }
  limitHeapGrowth(config.heapGrowthPercent);
  if (worker !== undefined) return serve(file, config, createLogger(config.logs).child({ worker: worker.index }), worker);
  const logger = createLogger(config.logs);
  const count = workerCount(config.workers, logger);
  // Only when the file changed between the primary's first look and this read.
  if (count > 1) return runPrimary(count, logger, config.metrics, config.memoryLimitBytes);
  return serve(file, config, logger, undefined);
}

/** How long a worker waits for the primary's first memory report before it starts anyway. */
const FIRST_MEMORY_REPORT_TIMEOUT_MS = 2_000;

/** The pipeline itself, in a single-process daemon or in one worker process. */
async function serve(file: string, config: ResolvedConfig, logger: Logger, worker: WorkerIdentity | undefined): Promise<number> {
  if (worker && config.metrics.enabled) answerClusterScrapes();
  // A worker's memory limit is the whole daemon's, measured by the primary. The first report comes
  // within one interval; without it the worker would admit requests on its own memory alone.
  const daemonMemory = worker && config.memoryLimitBytes > 0 ? daemonMemoryReading() : undefined;
  const service = new Service(config, {
    logger,
    worker,
    serveMetrics: worker === undefined,
    residentBytes: daemonMemory?.read,
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
  if (daemonMemory && !(await daemonMemory.firstReport(FIRST_MEMORY_REPORT_TIMEOUT_MS))) {
    logger.warn({ waitedMs: FIRST_MEMORY_REPORT_TIMEOUT_MS }, "no memory report from the primary yet; memory_limit compares this worker's own memory until one arrives");
  }
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
