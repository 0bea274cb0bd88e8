import { readFileSync } from "node:fs";
import type { Worker } from "node:cluster";

/**
 * `service.memory_limit` is for the daemon as a whole, as the container's memory limit is: with
 * several workers, the primary adds up the resident memory of every process (itself included) and
 * sends each worker the total; a worker's admission check compares the latest total with the
 * limit. Reading other processes' memory needs /proc (Linux); where it cannot be read, no total
 * is sent and each worker falls back to its own resident memory.
 */

/** How often the primary measures the processes and sends the total. */
export const DAEMON_MEMORY_INTERVAL_MS = 100;
/**
 * A total older than this is not used: the primary stopped sending (it is stopping, or blocked),
 * and the worker's own resident memory is the best reading left.
 */
const STALE_AFTER_MS = 1_000;

export interface DaemonMemoryMessage {
  type: "daemon-memory";
  bytes: number;
}

/** A process's resident pages from /proc/<pid>/status: its own (anonymous and shared memory) and file-backed. */
export interface ProcessMemory {
  privateBytes: number;
  fileBytes: number;
}

export function processMemory(pid: number, procRoot = "/proc"): ProcessMemory | undefined {
  let status: string;
  try {
    status = readFileSync(`${procRoot}/${pid}/status`, "utf8");
  } catch {
    return undefined; // the process is gone, or there is no /proc
  }
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status)?.[1] ?? Number.NaN) * 1024;
  const [anon, shmem, file] = [kib("RssAnon"), kib("RssShmem"), kib("RssFile")];
  if (![anon, shmem, file].every(Number.isFinite)) return undefined;
  return { privateBytes: anon + shmem, fileBytes: file };
}

/**
 * The daemon's resident memory: each process's own pages, plus the file-backed pages once. The
 * processes map the same node binary and libraries, which the kernel holds (and charges to the
 * container) once; counted per process they would add the size of node's code for every worker.
 * For a single process this is its resident set size.
 */
export function daemonResidentBytes(pids: readonly number[], procRoot?: string): number | undefined {
  let privateBytes = 0;
  let fileBytes = 0;
  let measured = 0;
  for (const pid of pids) {
    const memory = processMemory(pid, procRoot);
    if (memory === undefined) continue;
    measured += 1;
    privateBytes += memory.privateBytes;
    fileBytes = Math.max(fileBytes, memory.fileBytes);
  }
  return measured === 0 ? undefined : privateBytes + fileBytes;
}

/**
 * Primary: every DAEMON_MEMORY_INTERVAL_MS, measures itself and the current workers and sends each
 * worker the total. Returns the function that stops it.
 */
export function shareDaemonMemory(workers: () => Iterable<Worker>): () => void {
  const timer = setInterval(() => {
    const current = [...workers()];
    const bytes = daemonResidentBytes([process.pid, ...current.flatMap((worker) => (worker.process.pid === undefined ? [] : [worker.process.pid]))]);
    if (bytes === undefined) return;
    const message: DaemonMemoryMessage = { type: "daemon-memory", bytes };
    // A worker that is exiting has closed its channel; the error goes to the callback, not to an
    // unhandled 'error' event, and the next tick no longer lists it.
    for (const worker of current) if (worker.isConnected()) worker.send(message, () => {});
  }, DAEMON_MEMORY_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** A worker's view of the daemon's resident memory. */
export interface DaemonMemoryReading {
  /**
   * The daemon's resident memory as the primary last reported it, or this process's own when no
   * recent report arrived. Costs no system call while the reports come in.
   */
  read(): number;
  /**
   * Resolves once the first report has arrived (true), or after `timeoutMs` without one (false).
   * A worker waits for it before it listens: until then it knows only its own memory, and would
   * admit requests while the daemon as a whole is above the limit.
   */
  firstReport(timeoutMs: number): Promise<boolean>;
}

/** Worker: listens for the primary's reports. */
export function daemonMemoryReading(): DaemonMemoryReading {
  let bytes = 0;
  let receivedAt = Number.NEGATIVE_INFINITY;
  let arrived: () => void = () => {};
  const first = new Promise<void>((resolve) => (arrived = resolve));
  process.on("message", (message: Partial<DaemonMemoryMessage> | null) => {
    if (message?.type !== "daemon-memory" || typeof message.bytes !== "number") return;
    bytes = message.bytes;
    receivedAt = Date.now();
    arrived();
  });
  return {
    read: () => (Date.now() - receivedAt <= STALE_AFTER_MS ? bytes : process.memoryUsage.rss()),
    firstReport: async (timeoutMs) => {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
      try {
        return await Promise.race([first.then(() => true as const), timedOut]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
