import { Worker } from "node:worker_threads";
import type { ResolvedConfig } from "./config/resolve.js";
import { workerCount } from "./cpu-quota.js";
import { limitHeapGrowth } from "./heap-growth.js";
import { createLogger } from "./logging.js";
import { runPrimary } from "./workers.js";

/**
 * How a daemon of several workers starts. Its primary only supervises (src/workers.ts), and the
 * pipeline's code (components, schemas, clients) is most of a process's resident memory, so the
 * primary never loads it: once `service.workers` asks for several (src/planned-workers.ts), it
 * checks the whole config in a worker thread, whose heap is given back when the thread ends. A
 * problem is reported as `validate` reports it, once, before any worker starts.
 */
export type PrimarySettings = Pick<ResolvedConfig, "workers" | "logs" | "metrics" | "memoryLimitBytes" | "heapGrowthPercent">;

export interface ConfigCheckOutcome {
  /** Each problem as `validate` prints it (file:line:column). */
  problems: string[];
  settings?: PrimarySettings;
}

/** Checks the config in a thread and, if it holds, runs the primary; resolves with the exit code. */
export async function runPrimaryProcess(file: string, runInThisProcess: () => Promise<number>): Promise<number> {
  const { problems, settings } = await checkInThread(file);
  if (settings === undefined) {
    for (const problem of problems) process.stderr.write(`${problem}\n`);
    return 1;
  }
  limitHeapGrowth(settings.heapGrowthPercent);
  const logger = createLogger(settings.logs);
  const count = workerCount(settings.workers, logger);
  // Only when the file changed between the first look and the check.
  if (count <= 1) return runInThisProcess();
  return runPrimary(count, logger, settings.metrics, settings.memoryLimitBytes);
}

function checkInThread(file: string): Promise<ConfigCheckOutcome> {
  return new Promise((resolveOutcome, reject) => {
    const thread = new Worker(new URL("./config-check-thread.js", import.meta.url), { workerData: file });
    thread.once("message", (outcome: ConfigCheckOutcome) => {
      resolveOutcome(outcome);
      void thread.terminate();
    });
    thread.once("error", reject);
    thread.once("exit", (code) => reject(new Error(`the config check ended (exit code ${code}) without an answer`)));
  });
}
