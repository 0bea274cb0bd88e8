/** A configuration problem, located in the YAML file when the location is known. */
export interface ConfigProblem {
  /** Path of keys and indexes from the document root, e.g. ["exporters", "s3", "bucket"]. */
  path: ReadonlyArray<string | number>;
  message: string;
  file?: string;
  line?: number;
  column?: number;
  /** Point at the key of the last path element rather than at its value (unknown keys). */
  atKey?: boolean;
}

export function formatPath(path: ReadonlyArray<string | number>): string {
  return path.map((part) => String(part)).join("::");
}

/** `file:line:column: path: message`, the shape editors and CI logs link to. */
export function formatProblem(problem: ConfigProblem): string {
  const where = [problem.file ?? "<config>", problem.line, problem.column].filter((part) => part !== undefined).join(":");
  const path = problem.path.length > 0 ? `${formatPath(problem.path)}: ` : "";
  return `${where}: ${path}${problem.message}`;
}

/** Thrown when a configuration cannot be used; carries every problem found, not just the first. */
export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  ${formatProblem(problem)}`).join("\n")}`);
    this.name = "ConfigError";
  }
}
