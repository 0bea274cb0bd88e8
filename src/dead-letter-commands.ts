import { join } from "node:path";
import type { Logger } from "pino";
import type { ResolvedConfig } from "./config/resolve.js";
import { runExporterChain } from "./pipeline/exporter-chain.js";
import { readdir } from "node:fs/promises";
import { pipelineSpoolRoot, Service } from "./service.js";
import { DeadLetters } from "./spool/dead-letters.js";

export interface DeadLetterSummary {
  pipeline: string;
  directory: string;
  files: Array<{ name: string; groups: number; reasons: string[] }>;
}

/** Every worker spool of every pipeline has its own dead-letter folder. */
async function deadLettersOf(config: ResolvedConfig): Promise<Array<{ pipeline: string; deadLetters: DeadLetters }>> {
  if (!config.spool.enabled) return [];
  const found = [];
  for (const pipeline of config.pipelines) {
    const root = pipelineSpoolRoot(config.spool, pipeline.id);
    const workers = (await readdir(root).catch(() => [] as string[])).filter((name) => /^worker-\d+$/.test(name)).sort();
    for (const worker of workers) found.push({ pipeline: pipeline.id, deadLetters: new DeadLetters(join(root, worker, "dead-letter")) });
  }
  return found;
}

/** What the dead-letter folders of a config's pipelines hold, with the reasons. */
export async function listDeadLetters(config: ResolvedConfig): Promise<DeadLetterSummary[]> {
  const summaries: DeadLetterSummary[] = [];
  for (const { pipeline, deadLetters } of await deadLettersOf(config)) {
    const files = [];
    for (const name of await deadLetters.list()) {
      const file = await deadLetters.read(name);
      files.push({ name, groups: file.groups.length, reasons: [...new Set(file.groups.map((group) => `${group.exporter}: ${group.reason}`))] });
    }
    summaries.push({ pipeline, directory: deadLetters.directory, files });
  }
  return summaries;
}

/**
 * Exports dead-lettered groups again with the pipeline's exporters (after the cause was fixed,
 * say a bucket created or a permission granted). A file is deleted once all its groups are
 * exported; files that still fail stay. Safe while the daemon runs: it only adds new files.
 */
export async function replayDeadLetters(config: ResolvedConfig, logger: Logger): Promise<{ replayed: number; failed: number }> {
  const service = new Service(config, { logger });
  for (const exporter of service.exporters.values()) await exporter.start();
  let replayed = 0;
  let failed = 0;
  try {
    for (const { pipeline, deadLetters } of await deadLettersOf(config)) {
      const exporters = service.exportersOf(pipeline);
      for (const name of await deadLetters.list()) {
        const record = DeadLetters.toRecord(await deadLetters.read(name));
        const failures = await runExporterChain(record, exporters);
        if (failures.length === 0) {
          await deadLetters.remove(name);
          replayed += 1;
        } else {
          failed += 1;
          logger.error({ file: name, pipeline, reason: failures[0]!.error.message }, "dead letter still fails");
        }
      }
    }
  } finally {
    for (const exporter of service.exporters.values()) await exporter.shutdown();
  }
  return { replayed, failed };
}
