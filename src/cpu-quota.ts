import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import type { Logger } from "pino";

/**
 * What `service.workers: auto` means: one worker per CPU of the container's CPU quota, and one
 * worker when there is no quota. Each worker holds its own copy of the pipeline's code and heap
 * (docs/operations.md, "Memory"), so a count taken from the node's cores would size a container's memory by
 * the node it lands on: a sidecar without a CPU limit on a 16-core node would start 16 workers
 * and be OOM-killed before it serves. A CPU limit is a statement of what the container may use;
 * the core count is not.
 */
export interface AutoWorkers {
  count: number;
  /** CPUs the cgroup allows (fractional, e.g. 1.5), when it sets a quota. */
  cpuQuota: number | undefined;
  /** Why this count, for the start-up log. */
  reason: string;
}

/**
 * Where the cgroup file system is read. Only tests set this variable, to point the daemon at a
 * folder that imitates a container's cgroup (with or without a quota).
 */
export const CGROUP_ROOT_ENV = "LOR_CGROUP_ROOT";
const DEFAULT_CGROUP_ROOT = "/sys/fs/cgroup";

export function autoWorkerCount(options: { cgroupRoot?: string; cores?: number } = {}): AutoWorkers {
  const cores = options.cores ?? availableParallelism();
  const cpuQuota = cgroupCpuQuota(options.cgroupRoot ?? process.env[CGROUP_ROOT_ENV] ?? DEFAULT_CGROUP_ROOT);
  if (cpuQuota === undefined) {
    return { count: 1, cpuQuota, reason: "no CPU quota found, so one worker; set service.workers to use more" };
  }
  const count = Math.max(1, Math.min(Math.ceil(cpuQuota), cores));
  return { count, cpuQuota, reason: `one worker per CPU of the CPU quota (${cpuQuota}, rounded up${count < Math.ceil(cpuQuota) ? `, capped at ${cores} usable cores` : ""})` };
}

/** `service.workers` as a count; for `auto`, the decision and its reason go to the log. */
export function workerCount(setting: "auto" | number, logger: Logger): number {
  if (setting !== "auto") return setting;
  const auto = autoWorkerCount();
  logger.info({ workers: auto.count, cpuQuota: auto.cpuQuota }, `workers: auto: ${auto.reason}`);
  return auto.count;
}

/**
 * The CPU quota in CPUs: cgroup v2's `cpu.max` ("<quota> <period>", or "max <period>" for none),
 * else cgroup v1's `cpu/cpu.cfs_quota_us` over `cpu.cfs_period_us` (-1 for none). Inside a
 * container both are the container's own cgroup; on a host without limits the files are absent
 * or say "none".
 */
export function cgroupCpuQuota(root: string): number | undefined {
  const v2 = readText(`${root}/cpu.max`);
  if (v2 !== undefined) {
    const [quota, period] = v2.split(/\s+/);
    return quota === "max" ? undefined : ratio(quota, period);
  }
  for (const controller of ["cpu", "cpu,cpuacct"]) {
    const quota = readText(`${root}/${controller}/cpu.cfs_quota_us`);
    if (quota !== undefined) return ratio(quota, readText(`${root}/${controller}/cpu.cfs_period_us`));
  }
  return undefined;
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** quota / period when both are positive numbers; anything else (-1, garbage) is no quota. */
function ratio(quota: string | undefined, period: string | undefined): number | undefined {
  const cpus = Number(quota) / Number(period);
  return Number.isFinite(cpus) && cpus > 0 && Number(quota) > 0 ? cpus : undefined;
}
