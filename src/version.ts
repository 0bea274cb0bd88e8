import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The package version, found from both `src/` (tests, tsx) and `dist/src/` (the built daemon). */
function readVersion(): string {
  for (const relative of ["../package.json", "../../package.json"]) {
    const path = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(path)) {
      const manifest = JSON.parse(readFileSync(path, "utf8")) as { name?: string; version?: string };
      if (manifest.name === "langfuse-otel-receiver" && manifest.version) return manifest.version;
    }
  }
  return "0.0.0";
}

export const VERSION = readVersion();
