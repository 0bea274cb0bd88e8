import { describe, expect, it } from "vitest";
import { resolve } from "node:path";
import { importGraph, violations } from "../../scripts/imports.js";

/** The layering rules of scripts/imports.ts hold for the daemon's sources (`npm run imports` prints the graph). */
describe("layering", () => {
  const graph = importGraph(resolve(import.meta.dirname, "../../src"));

  it("reads the whole source tree", () => {
    expect(graph.get("pipeline/pipeline.ts")).toContain("spool/spool.ts");
    expect(graph.size).toBeGreaterThan(100);
  });

  it("has no forbidden import and no import cycle", () => {
    expect(violations(graph)).toEqual([]);
  });

  it("would report a core module importing a component, and a cycle", () => {
    const broken = new Map(graph);
    broken.set("pipeline/pipeline.ts", [...graph.get("pipeline/pipeline.ts")!, "processors/auth/factory.ts"]);
    broken.set("model/events.ts", [...(graph.get("model/events.ts") ?? []), "pipeline/pipeline.ts"]);
    const found = violations(broken);
    expect(found).toContain("pipeline/pipeline.ts imports processors/auth/factory.ts: the pipeline core imports no component, registry, service or command");
    expect(found.some((line) => line.startsWith("import cycle:") && line.includes("model/events.ts"))).toBe(true);
  });
});
