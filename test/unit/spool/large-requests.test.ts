import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ExportRequest } from "../../../src/pipeline/export.js";
import { Spool } from "../../../src/spool/spool.js";
import type { ExportContext } from "../../../src/spool/record-codec.js";
import { testLogger } from "../../support/daemon.js";
import { exportContext, spanGroups } from "../../support/export-groups.js";

let directory: string;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "lor-spool-large-"));
});

afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe("spool and large requests", () => {
  it("stores a request of 2,500 groups as records of at most 1,000 and exports every group once", async () => {
    const exported: string[] = [];
    const exportSizes: number[] = [];
    const exporter = {
      role: "blob" as const,
      start: async () => {},
      shutdown: async () => {},
      exportGroups: async (request: ExportRequest) => {
        exportSizes.push(request.groups.length);
        for (const group of request.groups) exported.push(group.eventBodyId);
        return [];
      },
    };
    const spool = await Spool.open(
      {
        directory,
        maxBytes: 1 << 30,
        segmentBytes: 1 << 20,
        fsync: false,
        exportConcurrency: 2,
        // Nothing stays in memory: every record is read back from disk and decoded.
        memoryWindowBytes: 0,
        retry: { initialIntervalMs: 10, maxIntervalMs: 10, multiplier: 1, maxElapsedMs: 0 },
        retryAfterMs: 1000,
      },
      [{ id: "file", exporter }],
      testLogger(),
    );
    const groups = spanGroups(2500);
    await spool.append({ context: exportContext() as ExportContext, groups });
    spool.start();
    await spool.idle();
    await spool.shutdown(Date.now());
    expect(exportSizes.sort((a, b) => b - a)).toEqual([1000, 1000, 500]);
    expect(exported.sort()).toEqual(groups.map((group) => group.eventBodyId).sort());
  });
});
