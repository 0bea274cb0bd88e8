import { stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { expandEnvironment } from "./config/env.js";
import { readConfigFile } from "./config/source.js";
import { autoWorkerCount } from "./cpu-quota.js";

/**
 * The first look of `run` at its config: how many processes it asks for (`auto` resolved), read
 * without checking anything else and without loading more than the YAML parser, so a process
 * that goes on to run the pipeline loads its code exactly as it would have. Undefined when the
 * file cannot say; the full check then reports why. Only a count above 1 is acted on (a primary
 * checks the whole config before it starts a worker, src/primary-start.ts), so an out-of-range
 * number needs no check here.
 */
export async function plannedWorkerCount(file: string): Promise<number | undefined> {
  // A pipe (`--config /dev/stdin`) can be read only once: the full check in this process reads it.
  if (!(await stat(file).catch(() => undefined))?.isFile()) return undefined;
  const source = await readConfigFile(file);
  if (source.problems.length > 0) return undefined;
  const service = (source.value as { service?: { workers?: unknown } } | null | undefined)?.service;
  const raw = expandEnvironment(service?.workers ?? "auto", process.env, [], dirname(resolve(file)));
  if (raw === "auto") return autoWorkerCount().count;
  const count = typeof raw === "number" || typeof raw === "string" ? Number(raw) : Number.NaN;
  return Number.isInteger(count) ? count : undefined;
}
