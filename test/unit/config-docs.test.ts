import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { CONFIG_DOCS_PATH, keyRows, renderConfigurationDoc } from "../../scripts/config-docs.js";
import { loadConfigText } from "../../src/config/load.js";
import { byteSize, durationMs, integer } from "../../src/config/units.js";

const README = resolve(import.meta.dirname, "../../README.md");
const SRC = resolve(import.meta.dirname, "../../src");

/** The first line where two texts differ, for a message that says where the reference is stale. */
function firstDifference(expected: string, actual: string): string {
  const want = expected.split("\n");
  const have = actual.split("\n");
  const index = want.findIndex((line, position) => line !== have[position]);
  const line = index === -1 ? want.length : index;
  return `line ${line + 1}: expected ${JSON.stringify(want[line] ?? "<end of file>")}, found ${JSON.stringify(have[line] ?? "<end of file>")}`;
}

describe("docs/configuration.md", () => {
  it("is what npm run docs generates from the schemas", () => {
    const generated = renderConfigurationDoc();
    const written = readFileSync(CONFIG_DOCS_PATH, "utf8");
    if (written !== generated) {
      expect.fail(`docs/configuration.md is stale: run npm run docs (${firstDifference(generated, written)})`);
    }
  });

  it("reads types, defaults, ranges and descriptions from a schema", () => {
    const schema = z.strictObject({
      timeout: durationMs.default(30_000).describe("How long to wait."),
      size: byteSize.default(4.5 * 1024 * 1024),
      count: integer({ min: 1, max: 10 }).optional(),
      mode: z.enum(["a", "b"]).default("a"),
      nested: z.strictObject({ name: z.string().min(1) }).optional(),
    });
    expect(keyRows(schema)).toEqual([
      { key: "timeout", type: "duration", default: "`30s`", allowed: "", description: "How long to wait." },
      { key: "size", type: "size", default: "`4.5MiB`", allowed: "", description: "" },
      { key: "count", type: "integer", default: "—", allowed: "1-10", description: "" },
      { key: "mode", type: "string", default: "`a`", allowed: "`a`, `b`", description: "" },
      { key: "nested", type: "object", default: "—", allowed: "", description: "" },
      { key: "nested.name", type: "string", default: "required", allowed: "not empty", description: "" },
    ]);
  });
});

describe("README", () => {
  const readme = readFileSync(README, "utf8");

  it("stays short: reference material lives in docs/", () => {
    expect(readme.split("\n").length).toBeLessThanOrEqual(350);
  });

  it("shows a minimal configuration that the daemon accepts", () => {
    const yaml = /## A minimal configuration[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(yaml).toBeDefined();
    const env = { LANGFUSE_PUBLIC_KEY: "pk-lf-test", LANGFUSE_SECRET_KEY: "sk-lf-test", LANGFUSE_PROJECT_ID: "project", S3_ACCESS_KEY_ID: "id", S3_SECRET_ACCESS_KEY: "secret" };
    expect(() => loadConfigText(yaml!, { env, file: "README.md" })).not.toThrow();
  });
});

describe("source comments", () => {
  it("quote no benchmark figure: measurements live in bench/results/YYYY-MM-DD.md", () => {
    const figure = /\d[\d,.]*\s*(?:µs|us\b|spans\/s|ms of CPU)/;
    const found: string[] = [];
    const walk = (folder: string) => {
      for (const entry of readdirSync(folder, { withFileTypes: true })) {
        const path = join(folder, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith(".ts")) {
          readFileSync(path, "utf8")
            .split("\n")
            .forEach((line, index) => {
              const comment = /^\s*(?:\/\/|\/?\*)(.*)$/.exec(line)?.[1];
              if (comment !== undefined && figure.test(comment)) found.push(`${path.slice(SRC.length + 1)}:${index + 1}: ${comment.trim()}`);
            });
        }
      }
    };
    walk(SRC);
    expect(found).toEqual([]);
  });
});
