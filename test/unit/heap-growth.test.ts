import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { HEAP_GROWING_PERCENT, limitHeapGrowth } from "../../src/heap-growth.js";

/** What a fresh Node process prints on stderr when it sets this V8 flag at run time. */
function stderrOfSetting(flag: string): string {
  const child = spawnSync(process.execPath, ["-e", `require("node:v8").setFlagsFromString(${JSON.stringify(flag)})`], { encoding: "utf8" });
  expect(child.status).toBe(0);
  return child.stderr;
}

describe("heap growth limit", () => {
  it("leaves a --heap-growing-percent given to node alone, in either spelling", () => {
    expect(limitHeapGrowth(150, ["--heap-growing-percent=300"])).toBe("node flag");
    expect(limitHeapGrowth(undefined, ["--max-semi-space-size=32", "--heap_growing_percent=50"])).toBe("node flag");
  });

  it("sets a flag this Node's V8 knows: an unknown one is reported on stderr, this one is not", () => {
    expect(limitHeapGrowth(undefined, ["--max-semi-space-size=32"])).toBe(HEAP_GROWING_PERCENT);
    expect(limitHeapGrowth(150, [])).toBe(150);
    expect(stderrOfSetting("--heap-growing-percentage=100")).toMatch(/unrecognized flag/);
    expect(stderrOfSetting(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`)).toBe("");
  });
});
