import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { ExportGroup, type GroupKind } from "../pipeline/export.js";
import type { ChainFailure } from "../pipeline/exporter-chain.js";
import type { ExportContext, SpoolRecord } from "./record-codec.js";

/**
 * Groups that can never be exported as they are (S3 403 or missing bucket, a job Redis refuses,
 * retries given up) are kept as readable JSON files for an operator: `dead-letters` lists them and
 * `dead-letters --replay` exports them again once the cause is fixed.
 */
export interface DeadLetterFile {
  deadLetteredAt: string;
  context: Omit<ExportContext, "authorization">;
  groups: Array<{
    entityType: GroupKind;
    eventBodyId: string;
    firstEventId: string;
    firstEventType: string;
    exporter: string;
    reason: string;
    /** The group's events (for `otel`, its resource spans) exactly as they would be written to the blob store. */
    events: unknown[];
    /** How many events or spans `events` holds, and when an `otel` group was received (epoch ms). */
    count?: number;
    receivedAt?: number;
  }>;
}

export class DeadLetters {
  constructor(readonly directory: string) {}

  async write(context: ExportContext, failures: readonly ChainFailure[]): Promise<string> {
    await mkdir(this.directory, { recursive: true });
    const { authorization: _omitted, ...storedContext } = context;
    const content: DeadLetterFile = {
      deadLetteredAt: new Date().toISOString(),
      context: storedContext,
      groups: failures.map(({ group, exporter, error }) => ({
        entityType: group.entityType,
        eventBodyId: group.eventBodyId,
        firstEventId: group.firstEventId,
        firstEventType: group.firstEventType,
        exporter,
        reason: error.message,
        events: JSON.parse(group.body.toString("utf8")) as unknown[],
        count: group.eventCount,
        ...(group.receivedAt !== 0 ? { receivedAt: group.receivedAt } : {}),
      })),
    };
    const name = `${new Date().toISOString().replaceAll(":", "-")}-${randomBytes(4).toString("hex")}.json`;
    const temporary = join(this.directory, `.${name}.tmp`);
    const handle = await open(temporary, "w");
    try {
      await handle.writeFile(JSON.stringify(content, null, 2));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, join(this.directory, name));
    return name;
  }

  async list(): Promise<string[]> {
    try {
      return (await readdir(this.directory)).filter((name) => name.endsWith(".json") && !name.startsWith(".")).sort();
    } catch {
      return [];
    }
  }

  async read(name: string): Promise<DeadLetterFile> {
    return JSON.parse(await readFile(join(this.directory, name), "utf8")) as DeadLetterFile;
  }

  /** The file as a record the exporter chain can take again. */
  static toRecord(file: DeadLetterFile): SpoolRecord {
    return {
      context: { ...file.context, authorization: undefined },
      groups: file.groups.map(
        (group) =>
          new ExportGroup(
            group.entityType,
            group.eventBodyId,
            group.firstEventId,
            group.firstEventType,
            Buffer.from(JSON.stringify(group.events), "utf8"),
            group.count ?? group.events.length,
            group.receivedAt ?? 0,
          ),
      ),
    };
  }

  async remove(name: string): Promise<void> {
    await rm(join(this.directory, name), { force: true });
  }
}
