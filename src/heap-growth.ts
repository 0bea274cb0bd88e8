import { setFlagsFromString } from "node:v8";

/**
 * How far V8 lets the old generation grow past what survived the last full collection before it
 * collects again, in percent. V8's own factor is dynamic, up to 4x: on the converted-events path
 * about 40 MB survive and the heap reached 160-180 MB between collections (RSS 410-430 MiB in
 * `npm run bench`). At 100 % the heap stays near twice the live data (RSS about 250 MiB) for more,
 * shorter full collections; 75 keeps RSS there with the shipped single-threaded GC, which frees
 * memory later than V8's concurrent sweeper. The raw path pays for it differently: V8 counts the
 * ArrayBuffer memory allocated since the last full collection (request bodies, stored JSON) against
 * this headroom, so with a ~28 MB heap it starts a full collection every ~150 ms at full load; 150
 * halves them (`service.heap_growth_percent`). See the README's memory section for both trades.
 */
export const HEAP_GROWING_PERCENT = 75;

/**
 * Applies `percent` (the config's `service.heap_growth_percent`, HEAP_GROWING_PERCENT unless set)
 * unless the process was started with its own `--heap-growing-percent`. V8 reads the flag each
 * time it sizes the heap after a full collection, so setting it once the process runs takes effect
 * from the next one. Returns the value in force.
 */
export function limitHeapGrowth(percent = HEAP_GROWING_PERCENT, execArgv: readonly string[] = process.execArgv): number | "node flag" {
  if (execArgv.some((argument) => /^--heap[-_]growing[-_]percent\b/.test(argument))) return "node flag";
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  return percent;
}
