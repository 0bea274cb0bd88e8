import { parentPort, workerData } from "node:worker_threads";
import { checkConfigFile } from "./config/load.js";
import { formatProblem } from "./config/problems.js";
import type { ConfigCheckOutcome } from "./primary-start.js";

/**
 * The whole config check, run in a worker thread for a primary (src/primary-start.ts): the
 * pipeline's code it loads lives in this thread's heap, which is given back when the thread ends.
 */
const { config, problems } = await checkConfigFile(workerData as string);
const outcome: ConfigCheckOutcome =
  config === undefined
    ? { problems: problems.map(formatProblem) }
    : {
        problems: [],
        settings: {
          workers: config.workers,
          logs: config.logs,
          metrics: config.metrics,
          memoryLimitBytes: config.memoryLimitBytes,
          heapGrowthPercent: config.heapGrowthPercent,
        },
      };
parentPort!.postMessage(outcome);
