import cluster, { type Worker } from "node:cluster";
import type { Logger } from "pino";
import { shareDaemonMemory } from "./daemon-memory.js";
import { MetricsServer, type MetricsConfig } from "./telemetry/metrics-server.js";

/**
 * Running the pipeline in several processes (`service.workers`): the primary process forks the
 * workers, which share the listening sockets (node:cluster hands connections out round-robin)
 * and each have their own spool, `worker-<n>`. The primary only supervises: it restarts a worker
 * that dies (its spool is replayed by the new one) and turns SIGTERM into a graceful stop of
 * every worker. With a `memory_limit`, it also measures the whole daemon's memory for the
 * workers' admission checks.
 */
export interface WorkerIdentity {
  index: number;
  count: number;
}

/** Set in a worker process; undefined in the primary or a single-process daemon. */
export function currentWorker(): WorkerIdentity | undefined {
  if (!cluster.isWorker) return undefined;
  return { index: Number(process.env.LOR_WORKER_INDEX), count: Number(process.env.LOR_WORKER_COUNT) };
}

/** Messages from workers to the primary. */
export type WorkerMessage = { type: "started"; addresses: Record<string, string[]>; health: string } | { type: "failed"; error: string };

export function notifyPrimary(message: WorkerMessage): void {
  if (cluster.isWorker) process.send?.(message);
}

const CRASH_WINDOW_MS = 60_000;
const MAX_CRASHES_IN_WINDOW = 5;

/** Forks the workers and supervises them until a signal stops them; resolves with the exit code. */
export async function runPrimary(count: number, logger: Logger, metricsConfig: MetricsConfig, memoryLimitBytes: number): Promise<number> {
  const metricsServer = metricsConfig.enabled ? new MetricsServer(metricsConfig, "cluster", (error) => logger.error({ err: error }, "metrics scrape failed unexpectedly")) : undefined;
  try {
    await metricsServer?.listen();
  } catch (error) {
    logger.fatal({ err: error }, "metrics endpoint could not start");
    return 1;
  }
  const code = await superviseWorkers(count, logger, metricsServer ? `http://${metricsServer.address()}/metrics` : undefined, memoryLimitBytes > 0);
  await metricsServer?.close();
  return code;
}

function superviseWorkers(count: number, logger: Logger, metricsUrl: string | undefined, shareMemory: boolean): Promise<number> {
  return new Promise((resolve) => {
    const workers = new Map<number, Worker>();
    const stopSharingMemory = shareMemory ? shareDaemonMemory(() => workers.values()) : () => {};
    const crashes: number[] = [];
    let started = 0;
    const startedWorkers = new Set<number>();
    let stopping = false;
    let exitCode = 0;

    const fork = (index: number) => {
      const worker = cluster.fork({ LOR_WORKER_INDEX: String(index), LOR_WORKER_COUNT: String(count) });
      workers.set(index, worker);
      worker.on("message", (message: WorkerMessage) => {
        if (message.type === "started") {
          startedWorkers.add(index);
          started += 1;
          if (started === count) logger.info({ workers: count, receivers: message.addresses, health: message.health, metrics: metricsUrl }, "daemon started");
        } else if (message.type === "failed") {
          logger.fatal({ worker: index, error: message.error }, "worker could not start");
          stopAll(1);
        }
      });
      worker.on("exit", (code, signal) => {
        workers.delete(index);
        const wasStarted = startedWorkers.delete(index);
        if (stopping) {
          // A worker stopped before it was up dies of the SIGTERM itself (its handler is not yet
          // installed while it loads): it had accepted nothing, so that is a clean stop.
          const stoppedBeforeStart = signal === "SIGTERM" && !wasStarted;
          if (code !== 0 && !stoppedBeforeStart) exitCode = 1;
          if (workers.size === 0) {
            logger.info("daemon stopped");
            resolve(exitCode);
          }
          return;
        }
        const now = Date.now();
        crashes.push(now);
        while (crashes.length > 0 && crashes[0]! < now - CRASH_WINDOW_MS) crashes.shift();
        if (crashes.length > MAX_CRASHES_IN_WINDOW) {
          logger.fatal({ worker: index, code, signal }, "workers keep dying; giving up");
          stopAll(1);
          return;
        }
        logger.error({ worker: index, code, signal }, "worker died; starting it again (its spool is replayed)");
        fork(index);
      });
    };

    const stopAll = (code: number) => {
      if (stopping) return;
      stopping = true;
      stopSharingMemory();
      exitCode = code;
      if (workers.size === 0) resolve(exitCode);
      for (const worker of workers.values()) worker.process.kill("SIGTERM");
    };

    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals += 1;
      if (signals > 1) {
        logger.warn({ signal }, "second signal: stopping the workers at once");
        for (const worker of workers.values()) worker.process.kill("SIGKILL");
        process.exit(1);
      }
      logger.info({ signal, workers: workers.size }, "shutting down");
      stopAll(0);
    };
    process.on("SIGTERM", () => onSignal("SIGTERM"));
    process.on("SIGINT", () => onSignal("SIGINT"));
    // Reload requests go to every worker (each also watches the file itself).
    process.on("SIGHUP", () => {
      for (const worker of workers.values()) worker.process.kill("SIGHUP");
    });

    for (let index = 0; index < count; index += 1) fork(index);
  });
}
