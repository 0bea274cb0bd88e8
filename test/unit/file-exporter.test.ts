import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fileConfigSchema, fileExporterFactory } from "../../src/exporters/file/factory.js";
import { RetryableError } from "../../src/pipeline/errors.js";
import type { ExportRequest } from "../../src/pipeline/export.js";
import { exportContext, spanGroups } from "../support/export-groups.js";
import { metrics } from "../../src/telemetry/metrics.js";

/** Descriptors the file exporter holds right now, and the most it ever held at once. */
const descriptors = { open: 0, most: 0, failWith: undefined as { path: string; code: string } | undefined };

vi.mock("node:fs/promises", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:fs/promises")>();
  const open = async (...args: Parameters<typeof actual.open>) => {
    const failure = descriptors.failWith;
    if (failure && String(args[0]).includes(failure.path)) {
      throw Object.assign(new Error(`${failure.code}: too many open files, open '${String(args[0])}'`), { code: failure.code });
    }
    const handle = await actual.open(...args);
    descriptors.open += 1;
    descriptors.most = Math.max(descriptors.most, descriptors.open);
    const close = handle.close.bind(handle);
    handle.close = async () => {
      descriptors.open -= 1;
      return close();
    };
    return handle;
  };
  return { ...actual, open, default: { ...actual, open } };
});

function request(groups: number): ExportRequest {
  return { context: exportContext(), groups: spanGroups(groups) };
}

function exporter(config: Record<string, unknown>) {
  const lines: string[] = [];
  const logger = pino({ level: "warn" }, new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()) }));
  const directory = mkdtempSync(join(tmpdir(), "lor-file-exporter-"));
  const instance = fileExporterFactory.create({ id: "file" as never, logger, metrics }, fileConfigSchema.parse({ directory, fsync: true, ...config }));
  return { instance, directory, lines };
}

afterEach(() => {
  descriptors.open = 0;
  descriptors.most = 0;
  descriptors.failWith = undefined;
});

describe("file exporter", () => {
  it("has 32 files open at most by default, and refuses a limit of 0", () => {
    expect(fileConfigSchema.parse({ directory: "/tmp/x" }).max_open_files).toBe(32);
    expect(fileConfigSchema.safeParse({ directory: "/tmp/x", max_open_files: 0 }).success).toBe(false);
  });

  it("writes a request of thousands of groups with no more than max_open_files files open at once", async () => {
    const { instance, directory } = exporter({ max_open_files: 8 });
    await instance.start();
    const big = request(3000);
    // Two exports at once share the limit: it holds per exporter, not per request.
    const failures = await Promise.all([instance.exportGroups(big), instance.exportGroups(request(50))]);
    expect(failures.flat()).toEqual([]);
    expect(readdirSync(join(directory, "p1", "observation"))).toHaveLength(3000);
    expect(descriptors.most).toBeGreaterThan(1);
    expect(descriptors.most).toBeLessThanOrEqual(8);
    expect(big.groups.every((group) => group.blob !== undefined)).toBe(true);
  });

  it("reports running out of descriptors (EMFILE, ENFILE) as retryable, for the groups it hit, in one log line", async () => {
    for (const code of ["EMFILE", "ENFILE"]) {
      const { instance, lines } = exporter({ max_open_files: 4 });
      await instance.start();
      descriptors.failWith = { path: "/span-1", code };
      const failures = await instance.exportGroups(request(200));
      // span-1, span-10..19, span-100..199: every group whose folder starts with span-1.
      expect(failures).toHaveLength(111);
      expect(failures.every((failure) => failure.error instanceof RetryableError)).toBe(true);
      expect(failures[0]!.error.message).toContain(code);
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({ msg: "file export failed", groups: 111, of: 200 });
    }
  });
});
