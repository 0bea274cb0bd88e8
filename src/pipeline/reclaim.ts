import v8 from "node:v8";
import vm from "node:vm";

/**
 * Memory that refused requests leave behind goes back soon, and counts as used until it has. A
 * compression bomb refused at the budget leaves up to the budget in output buffers that nothing
 * references; V8 frees their memory only when it next collects, and an idle daemon may not
 * collect for many seconds. Until then the bytes stay reserved in the request budget (so the next
 * bombs are refused instead of piling up garbage), and once enough have piled up one full
 * collection runs, at most four times a second (a few milliseconds each on the daemon's small
 * heap), so an attacker cannot make the daemon spend more than a few per cent of a core on it.
 * Without a collector (a runtime that refuses the flag), the bytes are given back at once.
 */
const THRESHOLD_BYTES = 16 * 1024 * 1024;
const MIN_INTERVAL_MS = 250;

/** V8's collector: exposed to a fresh context (the `--expose-gc` flag set at run time takes effect there). */
function collector(): (() => void) | undefined {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === "function") return existing;
  try {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as unknown;
    return typeof gc === "function" ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

const gc = collector();
let pendingBytes = 0;
let pendingReleases: Array<() => void> = [];
let lastCollection = 0;
let timer: NodeJS.Timeout | undefined;

function collect(): void {
  timer = undefined;
  const releases = pendingReleases;
  pendingReleases = [];
  pendingBytes = 0;
  lastCollection = Date.now();
  gc!();
  for (const release of releases) release();
}

/**
 * `bytes` a refused request allocated and dropped: `release` gives them back to the budget after
 * the next collection (scheduled when enough have piled up, or within a second anyway).
 */
export function reclaimDropped(bytes: number, release: () => void): void {
  if (gc === undefined) {
    release();
    return;
  }
  pendingBytes += bytes;
  pendingReleases.push(release);
  const soon = pendingBytes >= THRESHOLD_BYTES ? Math.max(0, lastCollection + MIN_INTERVAL_MS - Date.now()) : MIN_INTERVAL_MS;
  if (timer !== undefined) {
    if (pendingBytes < THRESHOLD_BYTES) return;
    clearTimeout(timer);
  }
  timer = setTimeout(collect, soon);
  timer.unref();
}

/** Runs the pending collection now (tests, and a shutdown that wants the memory back). */
export function collectNow(): void {
  if (timer !== undefined) clearTimeout(timer);
  if (pendingReleases.length > 0) collect();
}

/** Whether collections can be run (false only when the runtime refuses the flag). */
export const canReclaim = gc !== undefined;
