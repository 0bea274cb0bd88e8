import { describe, expect, it } from "vitest";
import { daemonResidentBytes, processMemory } from "../../src/daemon-memory.js";
import { fileTree } from "../support/file-tree.js";

/** The memory `service.memory_limit` is compared with, read from folders shaped like /proc. */
describe("the daemon's resident memory", () => {
  const status = (anonKiB: number, fileKiB: number, shmemKiB = 0) =>
    `Name:\tnode\nVmRSS:\t${anonKiB + fileKiB + shmemKiB} kB\nRssAnon:\t${anonKiB} kB\nRssFile:\t${fileKiB} kB\nRssShmem:\t${shmemKiB} kB\n`;

  it("adds every process's own pages and counts the file-backed pages they share once", () => {
    const proc = fileTree({ "10/status": status(80_000, 44_000), "11/status": status(90_000, 45_000, 1_000), "12/status": status(70_000, 43_000) });
    expect(processMemory(11, proc)).toEqual({ privateBytes: 91_000 * 1024, fileBytes: 45_000 * 1024 });
    expect(daemonResidentBytes([10, 11, 12], proc)).toBe((80_000 + 91_000 + 70_000 + 45_000) * 1024);
    // One process: its resident set size.
    expect(daemonResidentBytes([10], proc)).toBe(124_000 * 1024);
  });

  it("leaves out processes that are gone, and has no reading when none can be read", () => {
    const proc = fileTree({ "10/status": status(80_000, 44_000) });
    expect(daemonResidentBytes([10, 99], proc)).toBe(124_000 * 1024);
    expect(daemonResidentBytes([99], proc)).toBeUndefined();
  });
});
