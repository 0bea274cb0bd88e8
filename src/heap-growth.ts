import { setFlagsFromString } from "node:v8";

/**
 * How far V8 lets the old generation grow past what survived the last full collection before it
 * collects again, in percent. V8's own factor is dynamic, up to 4x: on the converted-events path
 * the heap grew to several times its live data between collections, and resident memory with it.
 * At 100 % the heap stays near twice the live data, for more, shorter full collections; 75 keeps
 * resident memory there with the shipped single-threaded GC, which frees memory later than V8's
 * concurrent sweeper. The raw path pays for it differently: V8 counts the ArrayBuffer memory
 * allocated since the last full collection (request bodies, stored JSON) against this headroom,
 * so with its small heap it collects often at full load; a higher value collects less often for
 * more memory (`service.heap_growth_percent`). Both trades: docs/operations.md ("Memory"), and the
 * measurements in bench/results/2026-11-25.md and 2026-11-26.md.
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
