import { setFlagsFromString } from "node:v8";

/**
 * How far V8 lets the old generation grow past what survived the last full collection before it
 * collects again, in percent. V8's own factor is dynamic, up to 4x: on the converted-events path
 * about 40 MB survive and the heap reached 160-180 MB between collections (RSS 410-430 MiB in
 * `npm run bench`). At 100 % the heap stays near twice the live data (RSS about 250 MiB) for more,
 * shorter full collections; 75 keeps RSS there with the shipped single-threaded GC, which frees
 * memory later than V8's concurrent sweeper. See the README's memory section for the measured trade.
 */
export const HEAP_GROWING_PERCENT = 75;

/**
 * Applies HEAP_GROWING_PERCENT unless the process was started with its own
 * `--heap-growing-percent`. V8 reads the flag each time it sizes the heap after a full collection,
 * so setting it once the process runs takes effect from the next one. Returns the value in force.
 */
export function limitHeapGrowth(execArgv: readonly string[] = process.execArgv): number | "node flag" {
  if (execArgv.some((argument) => /^--heap[-_]growing[-_]percent\b/.test(argument))) return "node flag";
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return HEAP_GROWING_PERCENT;
}
