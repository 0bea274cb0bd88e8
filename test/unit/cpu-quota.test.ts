import { describe, expect, it } from "vitest";
import { autoWorkerCount, cgroupCpuQuota } from "../../src/cpu-quota.js";
import { fileTree } from "../support/file-tree.js";

/**
 * `service.workers: auto` reads the container's CPU quota from the cgroup file system; these
 * tests give it folders shaped like a container's /sys/fs/cgroup instead.
 */
const cgroupRoot = fileTree;

describe("workers: auto", () => {
  it("is one worker when the container has no CPU quota, whatever the node's core count", () => {
    for (const root of [
      cgroupRoot({}),
      cgroupRoot({ "cpu.max": "max 100000\n" }),
      cgroupRoot({ "cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n" }),
    ]) {
      const auto = autoWorkerCount({ cgroupRoot: root, cores: 16 });
      expect(auto.count, root).toBe(1);
      expect(auto.cpuQuota).toBeUndefined();
      expect(auto.reason).toBe("no CPU quota found, so one worker; set service.workers to use more");
    }
  });

  it("is the cgroup v2 quota rounded up", () => {
    expect(autoWorkerCount({ cgroupRoot: cgroupRoot({ "cpu.max": "150000 100000\n" }), cores: 16 })).toMatchObject({ count: 2, cpuQuota: 1.5 });
    expect(autoWorkerCount({ cgroupRoot: cgroupRoot({ "cpu.max": "50000 100000\n" }), cores: 16 })).toMatchObject({ count: 1, cpuQuota: 0.5 });
    expect(autoWorkerCount({ cgroupRoot: cgroupRoot({ "cpu.max": "400000 100000\n" }), cores: 16 })).toMatchObject({ count: 4, cpuQuota: 4 });
  });

  it("is the cgroup v1 quota rounded up, under either mount name of the cpu controller", () => {
    expect(autoWorkerCount({ cgroupRoot: cgroupRoot({ "cpu/cpu.cfs_quota_us": "300000\n", "cpu/cpu.cfs_period_us": "100000\n" }), cores: 16 }).count).toBe(3);
    expect(autoWorkerCount({ cgroupRoot: cgroupRoot({ "cpu,cpuacct/cpu.cfs_quota_us": "250000\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n" }), cores: 16 }).count).toBe(3);
  });

  it("never exceeds the usable cores", () => {
    const auto = autoWorkerCount({ cgroupRoot: cgroupRoot({ "cpu.max": "800000 100000\n" }), cores: 2 });
    expect(auto).toMatchObject({ count: 2, cpuQuota: 8 });
    expect(auto.reason).toContain("capped at 2 usable cores");
  });

  it("treats unreadable quota files as no quota", () => {
    expect(cgroupCpuQuota(cgroupRoot({ "cpu.max": "garbage\n" }))).toBeUndefined();
    expect(cgroupCpuQuota(cgroupRoot({ "cpu.max": "0 100000\n" }))).toBeUndefined();
    expect(cgroupCpuQuota(cgroupRoot({ "cpu/cpu.cfs_quota_us": "200000\n" }))).toBeUndefined();
  });
});
