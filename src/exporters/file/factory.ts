import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { z } from "zod";
import { flag, integer } from "../../config/units.js";
import type { ComponentSettings } from "../../pipeline/component.js";
import { defineExporter, type ExporterInstance } from "../../pipeline/define-exporter.js";
import { RetryableError } from "../../pipeline/errors.js";
import type { ExportFailure, ExportRequest } from "../../pipeline/export.js";
import { blobLayoutFields } from "../blob-settings.js";
import { ConcurrencyLimiter, forEachBounded } from "../../pipeline/concurrency.js";

export const fileConfigSchema = z
  .strictObject({
    directory: z.string().min(1).describe("Root folder; objects land at `<directory>/<key>`, with the keys the s3 exporter writes."),
    ...blobLayoutFields,
    fsync: flag.default(true).describe("fsync each file and its folder before reporting success."),
    // Each write holds one descriptor at a time (the file, then its folder for the fsync).
    max_open_files: integer({ min: 1, max: 4096 })
      .default(32)
      .describe("Files written at once, across every export of this exporter; the rest wait unopened, so a request of any size holds at most this many descriptors."),
  })
  .describe(
    "The same keys and bytes on local disk (development, or a volume another process ships). Files are written to a temporary name and renamed, so readers never see partial files; key segments `.`, `..`, empty ones and `%` itself are percent-escaped on disk, so no id can leave the directory. A failed write (out of descriptors, out of space, no permission) is retried from the spool.",
  );

export type FileConfig = z.output<typeof fileConfigSchema>;

/**
 * Object keys may contain segments that mean something to a file system but nothing to S3
 * (`.` and `..`, from ids the safe-segment rule leaves alone, or an empty one from `//` in a
 * prefix). They are percent-escaped, and so is `%` itself, so the mapping stays one-to-one: no id
 * can leave the directory or land on another id's file.
 */
export function keyToRelativePath(key: string): string {
  return key
    .split("/")
    .map((raw) => {
      const segment = raw.replaceAll("%", "%25");
      if (segment === "") return "%00";
      return segment === "." || segment === ".." ? segment.replaceAll(".", "%2E") : segment;
    })
    .join(sep);
}

async function writeAtomically(path: string, body: Buffer, durable: boolean): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const handle = await open(temporary, "w");
  try {
    await handle.writeFile(body);
    if (durable) await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  if (durable) {
    const folder = await open(dirname(path), "r");
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
  }
}

class FileExporter implements ExporterInstance {
  readonly #root: string;
  readonly #slots: ConcurrencyLimiter;

  constructor(
    private readonly settings: ComponentSettings,
    private readonly config: FileConfig,
  ) {
    this.#root = resolve(config.directory);
    this.#slots = new ConcurrencyLimiter(config.max_open_files);
  }

  async start(): Promise<void> {
    await mkdir(this.#root, { recursive: true });
  }

  async shutdown(): Promise<void> {}

  async exportGroups(request: ExportRequest): Promise<ExportFailure[]> {
    const { projectId } = request.context.scope;
    const failures: ExportFailure[] = [];
    await forEachBounded(request.groups, this.config.max_open_files, async (group) => {
      const key = group.objectKey(this.config.prefix, projectId, this.config.max_segment_bytes);
      const path = join(this.#root, keyToRelativePath(key.objectKey));
      try {
        if (!path.startsWith(this.#root + sep)) throw new Error(`key ${JSON.stringify(key.objectKey)} leaves the directory`);
        await this.#slots.run(() => writeAtomically(path, group.body, this.config.fsync));
        group.blob = { bucketPrefix: key.bucketPrefix, fileKey: key.fileKey };
      } catch (error) {
        // Every file system failure may pass once the operator or the system frees what it lacks
        // (descriptors: EMFILE, ENFILE; space; permissions): the spool keeps the group until then.
        failures.push({ group, error: new RetryableError(`file export failed: ${(error as Error).message}`, 1000, { cause: error }) });
      }
    });
    if (failures.length > 0) {
      // One line per export, not per group: a request of many groups must not become as many lines.
      this.settings.logger.warn({ groups: failures.length, of: request.groups.length, err: failures[0]!.error.cause }, "file export failed");
    }
    return failures;
  }
}

export const fileExporterFactory = defineExporter({
  type: "file",
  role: "blob",
  configSchema: fileConfigSchema,
  setup: (settings, config) => new FileExporter(settings, config),
  events: (request, files) => files.exportGroups(request),
  spans: (request, files) => files.exportGroups(request),
});
