import { builtinComponents, type ComponentRegistry } from "../components.js";
import { dirname, resolve } from "node:path";
import { expandEnvironment, type Environment } from "./env.js";
import { ConfigError, type ConfigProblem } from "./problems.js";
import { resolveConfig, type ResolvedConfig } from "./resolve.js";
import { parseConfigText, readConfigFile, type ConfigSource } from "./source.js";

export interface LoadOptions {
  env?: Environment;
  registry?: ComponentRegistry;
}

function resolveSource(source: ConfigSource, options: LoadOptions): { config?: ResolvedConfig; problems: ConfigProblem[] } {
  if (source.problems.length > 0) return { problems: source.problems };
  const envProblems: ConfigProblem[] = [];
  const baseDirectory = source.file.startsWith("<") ? process.cwd() : dirname(resolve(source.file));
  const expanded = expandEnvironment(source.value, options.env ?? process.env, envProblems, baseDirectory);
  const { config, problems } = resolveConfig(expanded, options.registry ?? builtinComponents);
  // A value left empty by a missing variable fails its schema too; say it once.
  const envPaths = new Set(envProblems.map((problem) => problem.path.join("\u0000")));
  const rest = problems.filter((problem) => !envPaths.has(problem.path.join("\u0000")));
  const all = [...envProblems, ...rest].map((problem) => source.locate(problem, problem.atKey));
  all.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  return all.length > 0 ? { problems: all } : { config, problems: [] };
}

/** Reads, expands and checks a config file; every problem is located by file, line and column. */
export async function checkConfigFile(file: string, options: LoadOptions = {}): Promise<{ config?: ResolvedConfig; problems: ConfigProblem[] }> {
  return resolveSource(await readConfigFile(file), options);
}

export async function loadConfigFile(file: string, options: LoadOptions = {}): Promise<ResolvedConfig> {
  const { config, problems } = await checkConfigFile(file, options);
  if (config === undefined) throw new ConfigError(problems);
  return config;
}

/** The same for YAML text (tests, embedded configs). */
export function loadConfigText(text: string, options: LoadOptions & { file?: string } = {}): ResolvedConfig {
  const { config, problems } = resolveSource(parseConfigText(text, options.file ?? "<inline>"), options);
  if (config === undefined) throw new ConfigError(problems);
  return config;
}
