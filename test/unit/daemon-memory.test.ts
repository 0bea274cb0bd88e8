import { describe, expect, it } from "vitest";
import { daemonMemoryReading, daemonResidentBytes, processMemory } from "../../src/daemon-memory.js";
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

/** A worker's view of the primary's reports, which arrive as IPC messages on `process`. */
describe("a worker's reading of the daemon's memory", () => {
  it("knows only its own memory until the first report, then uses the reported total", async () => {
    const reading = daemonMemoryReading();
    const own = process.memoryUsage.rss();
    expect(reading.read()).toBeGreaterThan(own / 2);
    expect(reading.read()).toBeLessThan(own * 2);

    const first = reading.firstReport(60_000);
    process.emit("message", { type: "something else", bytes: 1 }, undefined);
    process.emit("message", { type: "daemon-memory", bytes: 7 * own }, undefined);
    expect(await first).toBe(true);
    expect(reading.read()).toBe(7 * own);
    // Once it has arrived, later waits return at once.
    expect(await reading.firstReport(60_000)).toBe(true);
  });

  it("gives up waiting for a first report after the timeout", async () => {
    expect(await daemonMemoryReading().firstReport(1)).toBe(false);
  });
});
