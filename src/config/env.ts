import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import type { ConfigProblem } from "./problems.js";

/**
 * `${env:NAME}` and `${env:NAME:-default}` references inside string values, as in the
 * OpenTelemetry Collector, and `${file:PATH}` for secrets mounted as files (a Kubernetes Secret
 * volume): the file's content without its trailing newline. `$$` stands for a literal `$`. A
 * reference to an unset variable or a missing file without a default is a problem (the Collector
 * only warns; an empty bucket name or secret is never what the user meant).
 */
const REFERENCE = /\$\$|\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{file:([^}]+?)(?::-([^}]*))?\}/g;

function readSecretFile(path: string, baseDirectory: string): string | undefined {
  try {
    return readFileSync(isAbsolute(path) ? path : resolve(baseDirectory, path), "utf8").replace(/\r?\n$/, "");
  } catch {
    return undefined;
  }
}

export type Environment = Readonly<Record<string, string | undefined>>;

function expandString(
  value: string,
  env: Environment,
  path: ReadonlyArray<string | number>,
  problems: ConfigProblem[],
  baseDirectory: string,
): string {
  if (!value.includes("$")) return value;
  return value.replace(REFERENCE, (match, name: string | undefined, fallback: string | undefined, file: string | undefined, fileFallback: string | undefined) => {
    if (match === "$$") return "$";
    if (file !== undefined) {
      const content = readSecretFile(file, baseDirectory);
      if (content !== undefined && content !== "") return content;
      if (fileFallback !== undefined) return fileFallback;
      problems.push({ path, message: `file ${file} is missing, unreadable or empty and the reference has no default` });
      return "";
    }
    const resolved = env[name!];
    if (resolved !== undefined && resolved !== "") return resolved;
    if (fallback !== undefined) return fallback;
    problems.push({ path, message: `environment variable ${name} is unset or empty and the reference has no default (write \${env:${name}:-value})` });
    return "";
  });
}

/**
 * Returns a copy of `value` with every string expanded; problems are appended to `problems`.
 * Relative `${file:...}` paths start at `baseDirectory` (the config file's folder).
 */
export function expandEnvironment(
  value: unknown,
  env: Environment,
  problems: ConfigProblem[],
  baseDirectory: string = process.cwd(),
  path: Array<string | number> = [],
): unknown {
  if (typeof value === "string") return expandString(value, env, path, problems, baseDirectory);
  if (Array.isArray(value)) return value.map((item, index) => expandEnvironment(item, env, problems, baseDirectory, [...path, index]));
  if (value !== null && typeof value === "object") {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      // Keys may hold references too (a sampling rate keyed by a project id from the environment).
      result[expandString(key, env, [...path, key], problems, baseDirectory)] = expandEnvironment(item, env, problems, baseDirectory, [...path, key]);
    }
    return result;
  }
  return value;
}
