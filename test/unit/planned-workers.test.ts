import { afterEach, describe, expect, it } from "vitest";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { CGROUP_ROOT_ENV } from "../../src/cpu-quota.js";
import { plannedWorkerCount } from "../../src/planned-workers.js";
import { fileTree } from "../support/file-tree.js";

/** `run`'s first look at a config: how many processes it asks for, before any code is loaded for them. */
const saved = process.env[CGROUP_ROOT_ENV];
afterEach(() => {
  if (saved === undefined) delete process.env[CGROUP_ROOT_ENV];
  else process.env[CGROUP_ROOT_ENV] = saved;
});

function config(service: string): string {
  return join(fileTree({ "pipeline.yaml": `receivers: {}\nservice:\n${service}\n  pipelines: {}\n` }), "pipeline.yaml");
}

describe("the planned worker count", () => {
  it("is the number the file gives, also as a string or from the environment", async () => {
    expect(await plannedWorkerCount(config("  workers: 3"))).toBe(3);
    expect(await plannedWorkerCount(config('  workers: "2"'))).toBe(2);
    process.env.LOR_TEST_WORKERS = "4";
    expect(await plannedWorkerCount(config("  workers: ${env:LOR_TEST_WORKERS}"))).toBe(4);
    delete process.env.LOR_TEST_WORKERS;
  });

  it("resolves auto, written or left out, from the CPU quota", async () => {
    process.env[CGROUP_ROOT_ENV] = fileTree({ "cpu.max": "max 100000\n" });
    expect(await plannedWorkerCount(config("  workers: auto"))).toBe(1);
    expect(await plannedWorkerCount(config("  shutdown_timeout: 5s"))).toBe(1);
    process.env[CGROUP_ROOT_ENV] = fileTree({ "cpu.max": "200000 100000\n" });
    expect(await plannedWorkerCount(config("  shutdown_timeout: 5s"))).toBe(Math.min(2, availableParallelism()));
  });

  it("cannot say for a value that is no count, a file that does not parse or does not exist, or one that is no regular file", async () => {
    expect(await plannedWorkerCount(config("  workers: many"))).toBeUndefined();
    expect(await plannedWorkerCount(join(fileTree({ "broken.yaml": "service: [\n" }), "broken.yaml"))).toBeUndefined();
    expect(await plannedWorkerCount("/nonexistent/pipeline.yaml")).toBeUndefined();
    // A pipe or device can be read only once, by the full check.
    expect(await plannedWorkerCount("/dev/null")).toBeUndefined();
  });
});
