import type { ConfigProblem } from "./problems.js";

/**
 * `${env:NAME}` and `${env:NAME:-default}` references inside string values, as in the
 * OpenTelemetry Collector. `$$` stands for a literal `$`. A reference to an unset variable
 * without a default is a problem (the Collector only warns; an empty bucket name or secret
 * is never what the user meant).
 */
const REFERENCE = /\$\$|\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export type Environment = Readonly<Record<string, string | undefined>>;

function expandString(
  value: string,
  env: Environment,
  path: ReadonlyArray<string | number>,
  problems: ConfigProblem[],
): string {
  if (!value.includes("$")) return value;
  return value.replace(REFERENCE, (match, name: string | undefined, fallback: string | undefined) => {
    if (match === "$$") return "$";
    const resolved = env[name!];
    if (resolved !== undefined && resolved !== "") return resolved;
    if (fallback !== undefined) return fallback;
    problems.push({ path, message: `environment variable ${name} is unset or empty and the reference has no default (write \${env:${name}:-value})` });
    return "";
  });
}

/** Returns a copy of `value` with every string expanded; problems are appended to `problems`. */
export function expandEnvironment(
  value: unknown,
  env: Environment,
  problems: ConfigProblem[],
  path: Array<string | number> = [],
): unknown {
  if (typeof value === "string") return expandString(value, env, path, problems);
  if (Array.isArray(value)) return value.map((item, index) => expandEnvironment(item, env, problems, [...path, index]));
  if (value !== null && typeof value === "object") {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      // Keys may hold references too (a sampling rate keyed by a project id from the environment).
      result[expandString(key, env, [...path, key], problems)] = expandEnvironment(item, env, problems, [...path, key]);
    }
    return result;
  }
  return value;
}
