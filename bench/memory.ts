/**
 * The daemon's resident memory per process, from /proc: a single-process daemon is one process;
 * with workers, the primary and each worker. `totalBytes` is the figure `service.memory_limit`
 * compares (src/daemon-memory.ts): every process's own pages, plus node's shared code pages once.
 */
import { daemonResidentBytes } from "../src/daemon-memory.js";
import { processMemoryBytes, processTree } from "./procs.js";

export interface ProcessMemory {
  /** "daemon" (single process), "primary", "worker 1", "worker 2", ... */
  name: string;
  /** Resident now (VmRSS). */
  rssBytes: number;
  /** The most it has been resident since it started (VmHWM). */
  peakBytes: number;
}

export interface DaemonMemory {
  processes: ProcessMemory[];
  /** As `memory_limit` counts it, now. */
  totalBytes: number;
}

export function readDaemonMemory(pid: number): DaemonMemory {
  const pids = processTree(pid);
  const processes = pids.map((member, index) => ({
    name: pids.length === 1 ? "daemon" : index === 0 ? "primary" : `worker ${index}`,
    rssBytes: processMemoryBytes(member, "VmRSS"),
    peakBytes: processMemoryBytes(member, "VmHWM"),
  }));
  return { processes, totalBytes: daemonResidentBytes(pids) ?? Number.NaN };
}
